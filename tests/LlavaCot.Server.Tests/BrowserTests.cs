using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Training.Shapes;
using LlavaCot.Tests;
using Microsoft.Playwright;

namespace LlavaCot.Server.Tests;

/// <summary>
/// The search page in a real browser (Debian's Chromium, driven by Playwright; no browser is downloaded) against the
/// real server on the bundled demo model. Screenshots go to <c>TestResults/screenshots</c> in the repository.
/// </summary>
[Trait(Category.Name, Category.Browser)]
public sealed class BrowserTests(DemoServer server) : IClassFixture<DemoServer>, IAsyncLifetime
{
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private readonly List<string> _consoleErrors = [];

    public async Task InitializeAsync()
    {
        var chromium = ExternalTool.Chromium.Require();
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>Closes the browser, then stops Playwright's driver even if closing failed (no process outlives the test).</summary>
    public async Task DisposeAsync()
    {
        try
        {
            if (_browser is not null)
                await _browser.DisposeAsync();
        }
        finally
        {
            _playwright?.Dispose();
        }
    }

    /// <summary>A page at phone width that records console errors and uncaught exceptions.</summary>
    private async Task<IPage> OpenAsync(int width = 390, int height = 844)
    {
        var page = await _browser!.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
                lock (_consoleErrors)
                    _consoleErrors.Add(m.Text);
        };
        page.PageError += (_, e) =>
        {
            lock (_consoleErrors)
                _consoleErrors.Add(e);
        };
        await page.GotoAsync(server.BaseAddress.ToString());
        await page.Locator("#model").Filter(new LocatorFilterOptions { HasTextString = Training.Train.DemoCard.Name }).WaitForAsync();
        return page;
    }

    private static async Task Screenshot(IPage page, string name)
    {
        var dir = Path.Combine(Fixtures.RepoRoot, "TestResults", "screenshots");
        Directory.CreateDirectory(dir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, name + ".png"), FullPage = true });
    }

    private static async Task Ask(IPage page, FilePayload image, string question, int beamSize = 2, int? seed = null, string? mode = null)
    {
        await page.Locator("#image").SetInputFilesAsync(image);
        await page.Locator("#clear-image").WaitForAsync();
        await page.Locator("#question").FillAsync(question);
        if (mode is not null)
            await page.Locator("#mode").SelectOptionAsync(mode);
        await page.Locator("#beam_size").FillAsync(beamSize.ToString());
        if (seed is { } s)
        {
            if (!await page.Locator("details").EvaluateAsync<bool>("d => d.open"))
                await page.Locator("details > summary").ClickAsync();
            await page.Locator("#seed").FillAsync(s.ToString());
        }
        await page.Locator("#run").ClickAsync();
    }

    private static async Task<bool> FitsTheScreen(IPage page) =>
        await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth");

    [SkippableTheory]
    [InlineData(390, 844, "phone")]
    [InlineData(1280, 900, "desktop")]
    public async Task An_upload_runs_a_stage_search_and_the_page_shows_every_stage_winner_the_judge_and_the_answer(int width, int height, string name)
    {
        var page = await OpenAsync(width, height);
        // A held-out question whose candidates part in the caption stage under seed 7 (identical candidates are not
        // judged, and most of the demo's are word for word the same).
        var (scene, question, _) = ShapeDataset.Draw(DemoServer.HeldOutSeed, 6);
        await Ask(page, new FilePayload { Name = "shapes.png", MimeType = "image/png", Buffer = ShapeRenderer.Png(scene) }, question.Text, seed: 7);

        await page.Locator("#answer").WaitForAsync(new LocatorWaitForOptions { Timeout = 180_000 });
        Assert.Equal(["Summary", "Caption", "Reasoning", "Conclusion"],
            (await page.Locator(".stage-title").AllTextContentsAsync()).Select(t => t.Split(':')[0][3..]));
        Assert.Equal(4, await page.Locator(".candidate.winner").CountAsync());
        Assert.Equal(8, await page.Locator(".candidate").CountAsync());
        Assert.True(await page.Locator(".judges li").CountAsync() >= 1);
        Assert.Matches(@"I choose response [12]", string.Join("\n", await page.Locator(".judges .words").AllTextContentsAsync()));
        Assert.False(string.IsNullOrWhiteSpace(await page.Locator("#conclusion").TextContentAsync()));
        Assert.Contains("vision passes", await page.Locator("#cost").TextContentAsync());
        Assert.True(await page.Locator("#error").IsHiddenAsync());
        // Every control has a label a screen reader announces.
        Assert.Equal(0, await page.EvaluateAsync<int>(
            "[...document.querySelectorAll('input, select, textarea')].filter(e => !e.labels || e.labels.length === 0).length"));
        // Nothing is wider than the screen, also on a phone.
        Assert.True(await FitsTheScreen(page));
        await Screenshot(page, $"search-page-{name}");
        Assert.Empty(_consoleErrors);
    }

    [SkippableFact]
    public async Task Each_mode_offers_the_scorers_it_takes_and_says_what_it_does()
    {
        var page = await OpenAsync();
        foreach (var (name, mode) in ReasoningModes.ByName)
        {
            await page.Locator("#mode").SelectOptionAsync(name);
            var offered = await page.Locator("#scorer option:not([disabled])").EvaluateAllAsync<string[]>("os => os.map(o => o.value).filter(v => v)");
            Assert.Equal(Scorers.For(mode).Where(s => s != ScorerKind.None).Select(Scorers.Name).Order(), offered.Order());
            Assert.Equal(offered.Length == 0 ? "none" : $"mode default ({Scorers.Name(Scorers.DefaultFor(mode))})",
                await page.Locator("#scorer option[value='']").TextContentAsync());
            // One scorer or none leaves nothing to pick: the select is off and the hint says what the mode does.
            Assert.Equal(offered.Length < 2, await page.Locator("#scorer").IsDisabledAsync());
            Assert.False(string.IsNullOrWhiteSpace(await page.Locator("#mode-hint").TextContentAsync()), name);
            Assert.Equal(name == "swires", await page.Locator("#swires_cutoff").IsEnabledAsync());
        }
        // A scorer the next mode does not take goes back to the mode's default.
        await page.Locator("#mode").SelectOptionAsync("stage_beam");
        await page.Locator("#scorer").SelectOptionAsync("verifier");
        await page.Locator("#mode").SelectOptionAsync("sentence_beam");
        Assert.Equal("", await page.Locator("#scorer").InputValueAsync());
        Assert.Empty(_consoleErrors);
    }

    [SkippableFact]
    public async Task Swires_shows_every_score_its_rounds_and_kept_candidates_and_a_weighted_vote_shows_each_answer()
    {
        var page = await OpenAsync();
        var (scene, question, _) = ShapeDataset.Draw(DemoServer.HeldOutSeed, 0);
        var image = new FilePayload { Name = "shapes.png", MimeType = "image/png", Buffer = ShapeRenderer.Png(scene) };
        await Ask(page, image, question.Text, seed: 2, mode: "swires");
        await page.Locator("#answer").WaitForAsync(new LocatorWaitForOptions { Timeout = 180_000 });

        var scores = await page.Locator(".candidate .note.score").AllTextContentsAsync();
        Assert.NotEmpty(scores);
        Assert.All(scores, t => Assert.Matches(@"^Verifier: P\(correct\) \d+\.\d%$", t));
        var rounds = await page.Locator(".round h3").AllTextContentsAsync();
        Assert.NotEmpty(rounds);
        Assert.All(rounds, t => Assert.Matches(@"^Round \d+: second best \d+\.\d% (≤|>) cutoff \d+\.\d%; ", t));
        Assert.EndsWith("on to the conclusions", rounds[^1]);
        Assert.True(await page.Locator(".round .ranking li").CountAsync() >= 4);
        // Each caption stage keeps its two best; the three best reasonings are kept for the conclusions, which say so;
        // the answer's caption and reasoning become winners with its conclusion.
        Assert.Equal(2 * rounds.Count + 3 - 2, await page.Locator(".candidate.kept").CountAsync());
        Assert.Equal(4, await page.Locator(".candidate.winner").CountAsync());
        var continued = await page.Locator(".stage[data-stage=conclusion] .origin").AllTextContentsAsync();
        Assert.Equal(3, continued.Count);
        Assert.All(continued, t => Assert.StartsWith("Continues the reasoning of stage", t));
        Assert.Contains("score calls", await page.Locator("#cost").TextContentAsync());
        Assert.True(await FitsTheScreen(page));
        await Screenshot(page, "swires-phone");

        await Ask(page, image, question.Text, beamSize: 3, seed: 2, mode: "weighted_best_of_n");
        await page.Locator("#answer").WaitForAsync(new LocatorWaitForOptions { Timeout = 180_000 });
        Assert.Equal(3, await page.Locator(".candidate .note").CountAsync());
        Assert.StartsWith("Vote: each answer weighs", await page.Locator(".vote h3").TextContentAsync());
        var answers = await page.Locator(".vote li").AllTextContentsAsync();
        Assert.NotEmpty(answers);
        Assert.All(answers, t => Assert.Matches(@"^“[^”]+”weight \d\.\d{3}, from candidates? [1-3](, [1-3])*", t));
        Assert.Matches(@"winner: candidate [1-3]$", await page.Locator(".vote li.chosen").TextContentAsync());
        Assert.Equal(1, await page.Locator(".candidate.winner").CountAsync());
        Assert.True(await FitsTheScreen(page));
        await Screenshot(page, "weighted-vote-phone");
        Assert.True(await page.Locator("#error").IsHiddenAsync());
        Assert.Empty(_consoleErrors);
    }

    [SkippableFact]
    public async Task The_page_works_from_the_keyboard_alone()
    {
        var page = await OpenAsync(1280, 900);
        var reached = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            reached.Add(await page.EvaluateAsync<string>("document.activeElement.id || document.activeElement.tagName"));
        }
        foreach (var control in new[] { "image", "question", "mode", "scorer", "beam_size", "SUMMARY", "run" })
            Assert.Contains(control, reached);
        await page.Locator("#question").FocusAsync();
        await page.Keyboard.TypeAsync("How many shapes are in the image?");
        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("mode", await page.EvaluateAsync<string>("document.activeElement.id"));
        await page.Keyboard.PressAsync("ArrowDown");
        Assert.Equal("best_of_n", await page.Locator("#mode").InputValueAsync());
        while (await page.EvaluateAsync<string>("document.activeElement.id") != "run")
            await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.PressAsync("Enter");
        await page.Locator("#answer").WaitForAsync(new LocatorWaitForOptions { Timeout = 180_000 });
        Assert.Equal(1, await page.Locator(".stage").CountAsync());
        Assert.Empty(_consoleErrors);
    }

    [SkippableFact]
    public async Task Cancel_stops_a_running_search_and_the_server_logs_a_client_abort()
    {
        var page = await OpenAsync(1200, 900);
        var held = server.Gate.Hold();
        try
        {
            var (scene, question, _) = ShapeDataset.Draw(DemoServer.HeldOutSeed, 4);
            await Ask(page, new FilePayload { Name = "shapes.png", MimeType = "image/png", Buffer = ShapeRenderer.Png(scene) }, question.Text);
            await held.WaitAsync(TimeSpan.FromMinutes(3));
            await page.Locator(".stage").First.WaitForAsync();
            await page.Locator("#cancel").ClickAsync();
            await page.Locator("#status").Filter(new LocatorFilterOptions { HasTextString = "Cancelled" }).WaitForAsync();
            Assert.True(await page.Locator("#run").IsEnabledAsync());
        }
        finally
        {
            server.Gate.Release();
        }
        await server.Settled();
        Assert.Contains(server.Log.Lines, l => l.Contains("/v1/reason 499"));
        Assert.Empty(_consoleErrors);
    }

    [SkippableFact]
    public async Task A_file_that_is_not_an_image_gets_the_servers_415_message_in_plain_words()
    {
        var page = await OpenAsync();
        await Ask(page, new FilePayload { Name = "notes.txt", MimeType = "text/plain", Buffer = "not a picture"u8.ToArray() }, "What is this?");
        var error = page.Locator("#error");
        await error.WaitForAsync();
        var text = await error.TextContentAsync();
        Assert.Contains("cannot read that kind of upload", text);
        Assert.Contains("'text/plain', not an image", text);
        await Screenshot(page, "unsupported-upload");
        // The browser logs the failed fetch's status itself; nothing else may go wrong.
        Assert.All(_consoleErrors, e => Assert.Contains("415", e));
    }
}
