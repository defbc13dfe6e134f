using LlavaCot.Model.Config;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Tests;

namespace LlavaCot.Runtime.Tests;

public class ModelSettingsTests
{
    private static void CopyTiny(TempDir temp)
    {
        foreach (var file in new[] { "config.json", "generation_config.json", "preprocessor_config.json", "manifest.json", "model.safetensors" })
            File.Copy(Fixtures.Path("mllama-tiny", file), temp.File(file));
    }

    [Theory]
    [InlineData(2048, 40)]
    [InlineData(16, 16)]
    public async Task The_folder_names_the_model_describes_it_and_caps_judge_replies_below_the_callers_limit(int callerLimit, int expected)
    {
        using var temp = new TempDir();
        CopyTiny(temp);
        File.WriteAllText(temp.File(ModelSettings.FileName),
            """{"name": "tiny-shapes", "description": "a test model", "judge_max_new_tokens": 40, "swires_cutoff": 0.3}""");
        using var host = await ModelHost.LoadAsync(new RuntimeOptions
        {
            ModelDirectory = temp.Path, Device = "cpu", Reasoning = new ReasonerSettings { JudgeMaxNewTokens = callerLimit },
        });
        Assert.Equal("tiny-shapes", host.Name);
        Assert.Equal("a test model", host.Description);
        Assert.Equal(expected, host.Settings.JudgeMaxNewTokens);
        // The folder's cutoff replaces the caller's: it belongs to this model's verifier scores.
        Assert.Equal(0.3, host.Settings.SwiresCutoff);
        Assert.Equal(new ReasonOptions().Mode, host.Settings.DefaultMode);
        Assert.Null(host.Settings.DefaultScorer);
    }

    [Fact]
    public async Task The_folder_sets_the_default_mode_and_scorer_of_a_request_that_names_neither()
    {
        using var temp = new TempDir();
        CopyTiny(temp);
        File.WriteAllText(temp.File(ModelSettings.FileName), """{"default_mode": "best_of_n", "default_scorer": "verifier"}""");
        using var host = await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = temp.Path, Device = "cpu" });
        Assert.Equal((ReasoningMode.BestOfN, ScorerKind.Verifier), (host.Settings.DefaultMode, host.Settings.DefaultScorer));
        Assert.Equal((ReasoningMode.BestOfN, ScorerKind.Verifier), (host.Settings.Defaults.Mode, host.Settings.Defaults.Scorer));
    }

    [Fact]
    public async Task Without_the_file_the_folder_name_and_the_callers_settings_stand()
    {
        using var temp = new TempDir();
        CopyTiny(temp);
        using var host = await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = temp.Path, Device = "cpu" });
        Assert.Equal(Path.GetFileName(temp.Path), host.Name);
        Assert.Null(host.Description);
        Assert.Equal(new ReasonerSettings().JudgeMaxNewTokens, host.Settings.JudgeMaxNewTokens);
        Assert.Equal(ReasonerSettings.DefaultSwiresCutoff, host.Settings.SwiresCutoff);
    }

    [Theory]
    [InlineData("""{"judge_max_new_tokens": 0}""", "judge_max_new_tokens")]
    [InlineData("""{"name": " padded "}""", "name")]
    [InlineData("""{"description": 3}""", "description")]
    [InlineData("""{"name": """, "not valid JSON")]
    [InlineData("""{"swires_cutoff": 1.5}""", "swires_cutoff has an unusable value, 1.5; it must be a number in 0..1")]
    [InlineData("""{"swires_cutoff": -0.1}""", "swires_cutoff")]
    [InlineData("""{"swires_cutoff": "0.5"}""", "swires_cutoff")]
    [InlineData("""{"default_mode": "tree"}""", "default_mode has an unusable value, \"tree\"; it must be one of")]
    [InlineData("""{"default_scorer": "judge"}""", "default_scorer")]
    [InlineData("""{"default_scorer": "none"}""", "default_scorer none does not apply to the default mode stage_beam")]
    [InlineData("""{"default_mode": "swires", "default_scorer": "pairwise"}""", "default_scorer pairwise does not apply to the default mode swires")]
    public async Task A_bad_value_is_refused_naming_the_file_and_the_key(string json, string key)
    {
        using var temp = new TempDir();
        CopyTiny(temp);
        File.WriteAllText(temp.File(ModelSettings.FileName), json);
        var ex = await Assert.ThrowsAsync<ConfigException>(() => ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = temp.Path, Device = "cpu" }));
        Assert.Contains(ModelSettings.FileName, ex.Message);
        Assert.Contains(key, ex.Message);
    }
}
