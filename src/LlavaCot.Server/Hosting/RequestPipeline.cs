using System.Diagnostics;
using System.Text.RegularExpressions;
using LlavaCot.Server.Api;
using LlavaCot.Server.Ops;
using Serilog.Context;

namespace LlavaCot.Server.Hosting;

/// <summary>
/// The outermost middleware: gives every request an id (the client's X-Request-Id when it is a plain token, else a
/// new one), returns it in the X-Request-Id header, and writes one log line per request with the search's details.
/// A client that goes away is logged at information level with status 499, never as a server error.
/// </summary>
public sealed partial class RequestPipeline(RequestDelegate next, ServerMetrics metrics, ILogger<RequestPipeline> log)
{
    public const string Header = "X-Request-Id";

    /// <summary>Status logged for a request whose client disconnected (nginx's convention).</summary>
    public const int ClientClosedRequest = 499;

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex ValidId();

    public async Task InvokeAsync(HttpContext http)
    {
        var clock = Stopwatch.StartNew();
        var id = http.Request.Headers[Header] is [{ } given] && ValidId().IsMatch(given) ? given : $"req-{Guid.NewGuid():N}"[..20];
        http.TraceIdentifier = id;
        http.Response.Headers[Header] = id;
        using var _ = LogContext.PushProperty("RequestId", id);
        var aborted = false;
        try
        {
            await next(http);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            aborted = true;
        }
        finally
        {
            aborted |= http.RequestAborted.IsCancellationRequested;
            var status = aborted ? ClientClosedRequest : http.Response.StatusCode;
            var route = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            metrics.Request(route, status);
            Log(http, id, status, clock.Elapsed.TotalMilliseconds, aborted);
        }
    }

    private void Log(HttpContext http, string id, int status, double ms, bool aborted)
    {
        var method = http.Request.Method;
        var path = http.Request.Path.Value;
        var level = status >= 500 ? LogLevel.Error
            : path is not null && (path.StartsWith("/health", StringComparison.Ordinal) || path == "/metrics") ? LogLevel.Debug
            : LogLevel.Information;
        if (http.Features.Get<ReasonTrace>() is not { } t)
        {
            log.Log(level, "{Method:l} {Path:l} {StatusCode} in {ElapsedMs:0.0} ms id={RequestId:l}{Aborted:l}",
                method, path, status, ms, id, aborted ? " (client aborted)" : "");
            return;
        }
        log.Log(level,
            "{Method:l} {Path:l} {StatusCode} in {ElapsedMs:0.0} ms id={RequestId:l} mode={Mode:l} scorer={Scorer:l} beam={BeamSize} seed={Seed} outcome={Outcome:l} " +
            "prompt_tokens={PromptTokens} tokens={CandidateTokens} judge_calls={JudgeCalls} judge_tokens={JudgeTokens} score_calls={ScoreCalls} " +
            "score_tokens={ScoreTokens} stages=[{StageTimings:l}]{Aborted:l}",
            method, path, status, ms, id, t.Mode, t.Scorer, t.BeamSize, t.Seed, t.Outcome, t.PromptTokens, t.CandidateTokens, t.JudgeCalls,
            t.JudgeTokens, t.ScoreCalls, t.ScoreTokens, string.Join(" ", t.StageTimings), aborted ? " (client aborted)" : "");
    }
}
