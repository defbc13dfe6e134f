using System.Diagnostics;
using System.Runtime.CompilerServices;
using LlavaCot.Model.Inputs;
using LlavaCot.Reasoning;
using LlavaCot.Reasoning.Events;
using LlavaCot.Reasoning.Scoring;
using LlavaCot.Server.Hosting;
using LlavaCot.Server.Ops;
using Microsoft.Extensions.Options;

namespace LlavaCot.Server.Api;

/// <summary>What one request's search did, for its log line.</summary>
public sealed class ReasonTrace
{
    public required string Mode { get; init; }
    public required string Scorer { get; init; }
    public required int BeamSize { get; init; }
    public ulong? Seed { get; set; }
    public int PromptTokens { get; set; }
    public long CandidateTokens { get; set; }
    public long JudgeTokens { get; set; }
    public int JudgeCalls { get; set; }
    public int ScoreCalls { get; set; }
    public long ScoreTokens { get; set; }
    public string Outcome { get; set; } = "not_started";
    public List<string> StageTimings { get; } = [];
}

/// <summary>
/// The path every reasoning endpoint shares: model readiness, admission (429 when the queue is full), opening the
/// search (422 for an unusable image), then the search's events observed for metrics and the request's log line.
/// </summary>
public sealed class ReasonExecution(ModelService model, Admission admission, ServerMetrics metrics, IOptions<ServerOptions> options,
    ILogger<ReasonExecution> log)
{
    public ServedModel Model => model.Model;

    /// <summary>A started search as the endpoints hold it: its run, the trace its events fill, and its slot.</summary>
    public sealed class Search
    {
        internal Search(ReasoningRun run, ReasonTrace trace, RunLease lease) => (Run, Trace, Lease) = (run, trace, lease);

        public ReasoningRun Run { get; }
        internal ReasonTrace Trace { get; }
        internal RunLease Lease { get; }
    }

    /// <summary>
    /// Starts the search once a slot is free. The run and the admission ticket are released when the response is
    /// done, however it ends (finished, client gone, error).
    /// </summary>
    public Task<(Search? Search, IResult? Problem)> StartAsync(ReasonRequest request, HttpContext http) =>
        StartAsync(request, http, null, logged: true, http.RequestAborted);

    /// <summary>
    /// Several searches for one request (OpenAI's n): admitted together or refused together (429), the first started
    /// before this returns (so its problems are the request's), each later one once a slot frees. Each search ends,
    /// giving its slot back, when its events end: with fewer slots than searches the later ones run after.
    /// </summary>
    public async Task<(IReadOnlyList<IAsyncEnumerable<ReasonEvent>>? Choices, IResult? Problem)> StartChoicesAsync(
        IReadOnlyList<ReasonRequest> requests, HttpContext http, CancellationToken ct)
    {
        var o = options.Value;
        if (!model.IsReady)
            return (null, Problems.ModelNotReady(http, o.RetryAfterSeconds));
        // The searches share the request's image: decoded and checked once, before any waits for a slot.
        var (prepared, bad) = Prepare(requests[0]);
        if (bad is not null)
            return (null, Problems.BadImage(bad));
        requests = requests.Select(r => r with { PreparedImage = prepared.PreparedImage }).ToList();
        var tickets = admission.TryEnter(requests.Count);
        if (tickets is null)
            return (null, Problems.RetryLater(http, StatusCodes.Status429TooManyRequests, "Too many requests",
                $"{requests.Count} searches do not fit: {admission.Running} are running and {admission.Waiting} waiting " +
                $"(queue length {o.QueueLength}); retry later", o.RetryAfterSeconds));
        var (first, problem) = await StartAsync(requests[0], http, tickets[0], logged: true, ct);
        if (first is null)
        {
            foreach (var t in tickets.Skip(1))
                t.Dispose();
            return (null, problem);
        }
        return ([Ending(first, http, ct), .. requests.Skip(1).Select((r, i) => Later(r, tickets[i + 1], http, ct))], null);
    }

    private async IAsyncEnumerable<ReasonEvent> Later(ReasonRequest request, Admission.Ticket ticket, HttpContext http,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var (search, _) = await StartAsync(request, http, ticket, logged: false, ct);
        if (search is null)
        {
            yield return new ReasonError("this choice's search could not start");
            yield break;
        }
        await foreach (var e in Ending(search, http, ct))
            yield return e;
    }

    /// <summary>The run's events; when they end, the run ends and its slot goes to the next search.</summary>
    private async IAsyncEnumerable<ReasonEvent> Ending(Search search, HttpContext http, [EnumeratorCancellation] CancellationToken ct)
    {
        try
        {
            await foreach (var e in EventsAsync(search, http, ct))
                yield return e;
        }
        finally
        {
            await search.Lease.DisposeAsync();
        }
    }

    /// <param name="admitted">A ticket already taken (one of several searches); null takes one or answers 429.</param>
    /// <param name="logged">Whether this search's trace is the request's log line.</param>
    private async Task<(Search? Search, IResult? Problem)> StartAsync(ReasonRequest request, HttpContext http, Admission.Ticket? admitted,
        bool logged, CancellationToken ct)
    {
        var o = options.Value;
        if (!model.IsReady)
        {
            admitted?.Dispose();
            return (null, Problems.ModelNotReady(http, o.RetryAfterSeconds));
        }
        var trace = new ReasonTrace
        {
            Mode = ReasoningModes.Name(request.Options.Mode), Scorer = Scorers.Name(Scorers.Of(request.Options)), BeamSize = request.Options.BeamSize,
        };
        if (logged)
            http.Features.Set(trace);
        (request, var bad) = Prepare(request);
        if (bad is not null)
        {
            admitted?.Dispose();
            trace.Outcome = "bad_image";
            return (null, Problems.BadImage(bad));
        }
        var ticket = admitted ?? admission.TryEnter();
        if (ticket is null)
        {
            trace.Outcome = "rejected";
            return (null, Problems.RetryLater(http, StatusCodes.Status429TooManyRequests, "Too many requests",
                $"{admission.Running} searches are running and {admission.Waiting} waiting (queue length {o.QueueLength}); retry later",
                o.RetryAfterSeconds));
        }
        var handedOver = false;
        try
        {
            trace.Outcome = "queued";
            await ticket.WaitAsync(ct);
            ReasoningRun run;
            try
            {
                run = await model.Reasoner.StartAsync(request, ct);
            }
            catch (InvalidReasonRequestException ex)
            {
                trace.Outcome = "invalid";
                return (null, Problems.Fields(ex.Errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray())));
            }
            var lease = new RunLease(run, ticket);
            http.Response.RegisterForDisposeAsync(lease);
            handedOver = true;
            trace.Outcome = "started";
            trace.Seed = run.Request.Options.Seed;
            return (new Search(run, trace, lease), null);
        }
        finally
        {
            if (!handedOver)
                ticket.Dispose();
        }
    }

    /// <summary>
    /// The request with its image decoded and checked (off the model thread, before it waits for a slot), or why the
    /// image is unusable.
    /// </summary>
    private (ReasonRequest Request, string? Problem) Prepare(ReasonRequest request)
    {
        if (request.Image is not { } bytes || request.PreparedImage is not null)
            return (request, null);
        try
        {
            return (request with { PreparedImage = model.Host.Generator.Prepare(bytes) }, null);
        }
        catch (ImageDecodeException ex)
        {
            return (request, ex.Message);
        }
    }

    /// <summary>The run's events, recorded into metrics and the request's trace as they pass.</summary>
    public async IAsyncEnumerable<ReasonEvent> EventsAsync(Search search, HttpContext http, [EnumeratorCancellation] CancellationToken ct)
    {
        var (run, trace) = (search.Run, search.Trace);
        var clock = Stopwatch.StartNew();
        var stageStarts = new Dictionary<int, TimeSpan>();
        trace.Outcome = "cancelled";
        try
        {
            await foreach (var e in run.EventsAsync(ct))
            {
                var now = clock.Elapsed;
                switch (e)
                {
                    case RequestAccepted a:
                        trace.PromptTokens = a.PromptTokens;
                        break;
                    case StageStarted s:
                        stageStarts[s.Index] = now;
                        break;
                    case CandidateFinished c:
                        trace.CandidateTokens += c.Tokens;
                        metrics.Tokens("candidate", c.Tokens);
                        break;
                    case JudgeComparison j:
                        // Every call counts, also a batched one whose reply was not needed.
                        var tokens = j.Calls.Sum(c => c.Tokens);
                        trace.JudgeTokens += tokens;
                        trace.JudgeCalls += j.Calls.Count;
                        metrics.Tokens("judge", tokens);
                        if (j.Calls.Count > 0)
                            metrics.Judge(j.ElapsedSeconds);
                        break;
                    case CandidateScored s when s.Decision == "verifier":
                        // Only a candidate the verifier ran counts: identical and untagged ones cost nothing.
                        trace.ScoreCalls++;
                        trace.ScoreTokens += s.Tokens;
                        metrics.Score(s.Tokens);
                        break;
                    case StageWinner w:
                        var seconds = (now - stageStarts.GetValueOrDefault(w.Index, now)).TotalSeconds;
                        metrics.Stage(w.Stage, seconds);
                        trace.StageTimings.Add($"{w.Stage}={seconds:0.000}s");
                        break;
                    case FinalAnswer f:
                        trace.Outcome = "completed";
                        metrics.SearchTime(f.Result.Mode, f.Result.ElapsedSeconds);
                        break;
                    case ReasonError error:
                        trace.Outcome = "failed";
                        if (error.Cause is not null)
                            log.LogError(error.Cause, "Search {RequestId} failed", http.TraceIdentifier);
                        break;
                }
                yield return e;
            }
        }
        finally
        {
            metrics.Search(trace.Outcome);
        }
    }

    /// <summary>Ends the search (freeing its tensors) before giving its slot to the next request; once, whoever asks first.</summary>
    internal sealed class RunLease(ReasoningRun run, Admission.Ticket ticket) : IAsyncDisposable
    {
        private int _disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
                return;
            try
            {
                await run.DisposeAsync();
            }
            finally
            {
                ticket.Dispose();
            }
        }
    }
}
