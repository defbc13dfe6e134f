using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using LlavaCot.Model;
using LlavaCot.Model.Generation;
using LlavaCot.Runtime;
using LlavaCot.Server.Hosting;

namespace LlavaCot.Server.Ops;

/// <summary>The server's counters and histograms, written in the Prometheus text format (version 0.0.4) at /metrics.</summary>
public sealed class ServerMetrics(Admission admission, ModelService model)
{
    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    private readonly Counter _requests = new("llavacot_http_requests_total", "HTTP requests answered, by route and status code.");
    private readonly Counter _searches = new("llavacot_searches_total", "Searches that ran, by outcome (completed, failed, cancelled).");
    private readonly Counter _tokens = new("llavacot_tokens_generated_total", "Tokens generated, by kind (candidate: stage text; judge: judge replies).");
    private readonly Histogram _stages = new("llavacot_stage_duration_seconds", "Time from a stage's start to its winner, by stage.", LatencyBuckets);
    private readonly Histogram _judges = new("llavacot_judge_duration_seconds", "Time one pairwise judge comparison took.", LatencyBuckets);
    private readonly Counter _scoreCalls = new("llavacot_score_calls_total", "Verifier prompts scored (prefill only, nothing decoded).");
    private readonly Counter _scoreTokens = new("llavacot_score_tokens_total",
        "Tokens of the verifier's prompts and verdicts, run through the model or found in the prefix cache.");
    private readonly Histogram _searchSeconds = new("llavacot_search_duration_seconds", "Time of a whole search, by mode.", LatencyBuckets);

    public void Request(string route, int status) => _requests.Add(1, ("route", route), ("status", status.ToString(CultureInfo.InvariantCulture)));

    public void Search(string outcome) => _searches.Add(1, ("outcome", outcome));

    public void Tokens(string kind, long count) => _tokens.Add(count, ("kind", kind));

    public void Stage(string stage, double seconds) => _stages.Observe(seconds, ("stage", stage));

    public void Judge(double seconds) => _judges.Observe(seconds);

    /// <summary>One verifier prompt scored, with its tokens.</summary>
    public void Score(int tokens)
    {
        _scoreCalls.Add(1);
        _scoreTokens.Add(tokens);
    }

    public void SearchTime(string mode, double seconds) => _searchSeconds.Observe(seconds, ("mode", mode));

    public string Render()
    {
        var text = new StringBuilder();
        _requests.Write(text);
        Gauge(text, "llavacot_queue_depth", "Searches waiting for a slot.", admission.Waiting);
        Gauge(text, "llavacot_searches_running", "Searches running now.", admission.Running);
        Gauge(text, "llavacot_model_ready", "1 once the model is loaded.", model.IsReady ? 1 : 0);
        _searches.Write(text);
        _tokens.Write(text);
        _stages.Write(text);
        _judges.Write(text);
        _scoreCalls.Write(text);
        _scoreTokens.Write(text);
        _searchSeconds.Write(text);
        if (model.IsReady)
        {
            var c = model.Host.Model.Counters;
            Total(text, "llavacot_model_decode_steps_total", "Batched decode steps run by the model.", c.DecodeSteps);
            Total(text, "llavacot_model_decoded_tokens_total", "Tokens fed through decode steps (all rows of a batch).", c.DecodedTokens);
            Total(text, "llavacot_model_prefilled_tokens_total", "Prompt tokens prefilled.", c.PrefilledTokens);
            Total(text, "llavacot_model_vision_runs_total", "Vision tower runs.", c.VisionRuns);
            Phases(text, c);
            Scheduler(text, model.Host.Worker.Steps, model.Host.Options.PrefillChunkTokens);
            Cache(text, "image_cache", "image features", model.Host.Generator.ImageCache);
            Cache(text, "prefix_cache", "prompt prefixes", model.Host.Generator.PrefixCache);
        }
        return text.ToString();
    }

    /// <summary>Where the model thread's time went, one series per phase.</summary>
    private static void Phases(StringBuilder text, ModelCounters c)
    {
        const string name = "llavacot_model_seconds_total";
        Header(text, name, "Seconds the model spent per phase: the vision tower, prompt prefills, decode steps, and sampling decode rows' tokens.", "counter");
        foreach (var (phase, seconds) in new[] { ("vision", c.VisionSeconds), ("prefill", c.PrefillSeconds), ("decode", c.DecodeSeconds), ("sample", c.SampleSeconds) })
            text.Append(name).Append('{').Append(Labels([("phase", phase)])).Append("} ").Append(Number(seconds)).Append('\n');
    }

    /// <summary>
    /// The model thread's steps: each may run a vision slice (one encoder layer), a prompt slice (one prefill chunk; more
    /// within the step's budget when no vision slice ran) and a decode step; how often each part was used, how long it
    /// took, how much of the budget it used, how long work waited, and the gaps between two decode steps of a running search.
    /// </summary>
    private static void Scheduler(StringBuilder text, StepStatistics s, int chunkTokens)
    {
        Total(text, "llavacot_scheduler_steps_total", "Scheduler steps (each: at most one vision slice, prompt slices within the step's budget, one decode step).", s.Steps);
        Gauge(text, "llavacot_scheduler_prefill_chunk_tokens", "Prompt tokens per prefill chunk (0: whole prompts).", chunkTokens);
        const string slices = "llavacot_scheduler_slice_seconds";
        Header(text, slices, "Seconds of the steps' slices by lane: vision (an encoder layer, the projector or a cross layer's keys and values), prompt (a prefill chunk).", "summary");
        foreach (var (lane, series) in new[] { ("vision", s.VisionSlices), ("prompt", s.PromptSlices) })
            SummaryLines(text, slices, series, ("lane", lane));
        Summary(text, "llavacot_scheduler_decode_step_seconds", "Seconds of each decode step (sampling every running row, one model call).", s.DecodeSteps);
        Summary(text, "llavacot_scheduler_step_budget_use_ratio",
            "Each step's vision and prompt seconds over its budget (the longest vision slice plus the longest prompt slice measured before it).", s.BudgetUse);
        Summary(text, "llavacot_scheduler_queue_wait_seconds", "Seconds a vision pass or prompt waited in its lane before its first slice.", s.QueueWaits);
        Summary(text, "llavacot_scheduler_decode_gap_seconds", "Seconds between two decode steps of a running search.", s.DecodeGaps);
        Gauge(text, "llavacot_scheduler_decode_gap_max_seconds", "The longest gap between two decode steps of a running search.", s.DecodeGaps.Max);
        Gauge(text, "llavacot_scheduler_queue_wait_max_seconds", "The longest wait of a vision pass or prompt before its first slice.", s.QueueWaits.Max);
    }

    private static void Summary(StringBuilder text, string name, string help, DurationSeries series)
    {
        Header(text, name, help, "summary");
        SummaryLines(text, name, series);
    }

    private static void SummaryLines(StringBuilder text, string name, DurationSeries series, params (string, string)[] labels)
    {
        var l = labels.Length > 0 ? $"{{{Labels(labels)}}}" : "";
        text.Append(name).Append("_sum").Append(l).Append(' ').Append(Number(series.Sum)).Append('\n');
        text.Append(name).Append("_count").Append(l).Append(' ').Append(Number(series.Count)).Append('\n');
    }

    /// <summary>A shared cache's hits, misses, evictions, size and budget as llavacot_{name}_*.</summary>
    private static void Cache(StringBuilder text, string name, string what, CacheCounters c)
    {
        Total(text, $"llavacot_{name}_hits_total", $"Lookups of {what} that found them cached.", c.Hits);
        Total(text, $"llavacot_{name}_misses_total", $"Lookups of {what} that had to compute them.", c.Misses);
        Total(text, $"llavacot_{name}_evictions_total", $"Cached {what} freed to stay within the budget.", c.Evictions);
        Gauge(text, $"llavacot_{name}_bytes", $"Memory held by cached {what}.", c.Bytes);
        Gauge(text, $"llavacot_{name}_budget_bytes", $"The budget of the cache of {what}.", c.BudgetBytes);
    }

    private static void Gauge(StringBuilder text, string name, string help, double value) =>
        Header(text, name, help, "gauge").Append(name).Append(' ').Append(Number(value)).Append('\n');

    private static void Total(StringBuilder text, string name, string help, double value) =>
        Header(text, name, help, "counter").Append(name).Append(' ').Append(Number(value)).Append('\n');

    /// <summary>A metric family's HELP and TYPE lines.</summary>
    private static StringBuilder Header(StringBuilder text, string name, string help, string type) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static string Number(double v) => double.IsPositiveInfinity(v) ? "+Inf" : v.ToString("R", CultureInfo.InvariantCulture);

    private static string Labels(IEnumerable<(string Name, string Value)> labels) =>
        string.Join(",", labels.Select(l => $"{l.Name}=\"{l.Value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n")}\""));

    private sealed class Counter(string name, string help)
    {
        private readonly ConcurrentDictionary<string, double> _values = new();

        public void Add(double amount, params (string, string)[] labels) =>
            _values.AddOrUpdate(Labels(labels), amount, (_, v) => v + amount);

        public void Write(StringBuilder text)
        {
            Header(text, name, help, "counter");
            foreach (var (labels, value) in _values.OrderBy(p => p.Key, StringComparer.Ordinal))
                text.Append(name).Append(labels.Length > 0 ? $"{{{labels}}}" : "").Append(' ').Append(Number(value)).Append('\n');
        }
    }

    private sealed class Histogram(string name, string help, double[] buckets)
    {
        private readonly ConcurrentDictionary<string, Series> _series = new();

        public void Observe(double value, params (string, string)[] labels)
        {
            var series = _series.GetOrAdd(Labels(labels), _ => new Series(buckets.Length));
            lock (series)
            {
                for (var i = 0; i < buckets.Length; i++)
                {
                    if (value <= buckets[i])
                        series.Counts[i]++;
                }
                series.Count++;
                series.Sum += value;
            }
        }

        public void Write(StringBuilder text)
        {
            Header(text, name, help, "histogram");
            foreach (var (labels, series) in _series.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                lock (series)
                {
                    var prefix = labels.Length > 0 ? labels + "," : "";
                    for (var i = 0; i < buckets.Length; i++)
                        text.Append(name).Append("_bucket{").Append(prefix).Append("le=\"").Append(Number(buckets[i])).Append("\"} ")
                            .Append(series.Counts[i]).Append('\n');
                    text.Append(name).Append("_bucket{").Append(prefix).Append("le=\"+Inf\"} ").Append(series.Count).Append('\n');
                    var suffix = labels.Length > 0 ? $"{{{labels}}}" : "";
                    text.Append(name).Append("_sum").Append(suffix).Append(' ').Append(Number(series.Sum)).Append('\n');
                    text.Append(name).Append("_count").Append(suffix).Append(' ').Append(series.Count).Append('\n');
                }
            }
        }

        private sealed class Series(int buckets)
        {
            public long[] Counts { get; } = new long[buckets];
            public long Count { get; set; }
            public double Sum { get; set; }
        }
    }
}
