using System.Diagnostics;
using System.Text.Json;
using LlavaCot.Model;
using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.IO;
using LlavaCot.Model.Layers;
using LlavaCot.Model.Text;
using LlavaCot.Training.Tokenizer;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LlavaCot.Training.Train;

/// <summary>Where a run stands, for the progress bar.</summary>
public sealed record TrainProgress(int Step, int Steps, double Loss, double TokensPerSecond, TimeSpan Elapsed, TimeSpan Remaining, string Kind);

/// <summary>
/// Trains the demo model: the server's own Mllama modules with autograd on, AdamW with warm-up and cosine decay, a
/// mix of answer, judge and pre-check batches, checkpoints it resumes from. The output folder is a normal Hugging
/// Face Mllama folder (config, tokenizer, weights) that the 11B's loader reads.
/// </summary>
public sealed class Trainer : IDisposable
{
    public const string CheckpointFolder = "checkpoint";
    private const string StateFile = "state.json";

    private readonly TrainOptions _o;
    private readonly MllamaModel _model;
    private readonly ModelInputsBuilder _inputs;
    private readonly TorchSharp.Modules.AdamW _optimizer;
    private readonly List<TorchSharp.Modules.Parameter> _parameters;
    private readonly ExampleStream _stream;
    private readonly PerceptionProbe? _probe;
    private int _step;
    private double _loss = double.NaN;

    public MllamaModel Model => _model;
    public int Step => _step;

    private Trainer(TrainOptions o, MllamaModel model, ModelInputsBuilder inputs)
    {
        _o = o;
        _model = model;
        _inputs = inputs;
        if (o.PerceptionWeight > 0)
            _probe = new PerceptionProbe(model.Config.Text.HiddenSize);
        // Frozen image features: the vision tower and projector keep what they learned, and take no gradient.
        var trained = model.named_parameters().Where(p => !o.FreezeVision || !IsVision(p.name)).Select(p => p.parameter);
        _parameters = trained.Concat(_probe?.parameters() ?? []).ToList();
        foreach (var (name, p) in model.named_parameters())
            p.requires_grad_(!o.FreezeVision || !IsVision(name));
        foreach (var p in _probe?.parameters() ?? [])
            p.requires_grad_(true);
        _optimizer = optim.AdamW(_parameters, o.LearningRate, weight_decay: o.WeightDecay);
        _stream = new ExampleStream(o.Seed);
    }

    /// <summary>
    /// Prepares the output folder (tokenizer trained on the task's texts, config files) unless it holds them, builds
    /// the model from seeded random weights, and resumes from the folder's checkpoint when there is one.
    /// </summary>
    public static Trainer Create(TrainOptions o, TextWriter log)
    {
        TorchNative.Initialize();
        torch.set_num_threads(o.Threads);
        torch.manual_seed((long)(o.Seed & long.MaxValue));
        var dir = o.OutputDirectory;
        if (!File.Exists(Path.Combine(dir, Llama3Tokenizer.FileName)))
        {
            var bpe = BpeTrainer.Train(TokenizerCorpus(o), o.VocabularySize);
            TokenizerFiles.Write(dir, bpe);
            o.Architecture.Write(dir, bpe.Tokens.Count);
            DemoCard.Write(dir);
            log.WriteLine($"tokenizer: {bpe.Tokens.Count} BPE tokens trained on {o.TokenizerSamples} samples");
        }
        var trainer = Build(o);
        var config = trainer._model.Config;
        log.WriteLine($"model: {trainer._parameters.Sum(p => p.numel()):N0} parameters; text {config.Text.NumHiddenLayers} layers, " +
                      $"vision {config.Vision.NumHiddenLayers}+{config.Vision.NumGlobalLayers} layers");
        if (File.Exists(Path.Combine(dir, CheckpointFolder, StateFile)))
        {
            trainer.Resume(Path.Combine(dir, CheckpointFolder));
            log.WriteLine($"resumed at step {trainer._step}");
        }
        return trainer;
    }

    private static bool IsVision(string name) =>
        name.StartsWith("vision_model.", StringComparison.Ordinal) || name.StartsWith("multi_modal_projector.", StringComparison.Ordinal);

    /// <summary>A trainer on seeded random weights for the folder's config and tokenizer.</summary>
    private static Trainer Build(TrainOptions o)
    {
        var config = MllamaConfig.Load(o.OutputDirectory);
        var inputs = ModelInputsBuilder.Load(o.OutputDirectory, config);
        var model = MllamaModel.Create(config, new RandomWeights((long)(o.Seed & long.MaxValue), ScalarType.Float32, CPU), ScalarType.Float32, CPU);
        return new Trainer(o, model, inputs);
    }

    /// <summary>
    /// A trainer that continues from the weights in <paramref name="weightsDir"/> with a fresh optimizer (the options'
    /// rates; a perception weight of 0 trains without the probe). The folder's config and tokenizer are the output folder's.
    /// </summary>
    public static Trainer Continue(TrainOptions o, string weightsDir)
    {
        TorchNative.Initialize();
        torch.set_num_threads(o.Threads);
        var trainer = Build(o);
        trainer.LoadWeights(weightsDir);
        return trainer;
    }

    public ModelInputsBuilder Inputs => _inputs;

    /// <summary>The texts the tokenizer learns from: prompts and replies of every kind, and the chat template's own words.</summary>
    private static IEnumerable<string> TokenizerCorpus(TrainOptions o)
    {
        var stream = new ExampleStream(o.Seed ^ 0x746F6B656EUL);
        yield return "user";
        yield return "assistant";
        yield return "system";
        yield return $"Cutting Knowledge Date: December 2023\nToday Date: {ChatTemplate.FormatDate(o.Date)}\n\n";
        for (var i = 0; i < o.TokenizerSamples; i++)
        {
            var sample = stream.Next(o.Mix.Pick(stream.NextDouble()));
            yield return sample.Example.Prompt;
            yield return sample.Example.Given + sample.Example.Reply;
        }
    }

    /// <summary>Runs the remaining steps, reporting after each; checkpoints on the way and saves the model at the end.</summary>
    public void Run(Action<TrainProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var first = _step;
        long tokens = 0;
        while (_step < _o.Steps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (kind, _, counted) = TrainStep();
            tokens += counted;
            var elapsed = clock.Elapsed;
            var perStep = elapsed / (_step - first);
            progress?.Invoke(new TrainProgress(_step, _o.Steps, _loss, tokens / Math.Max(elapsed.TotalSeconds, 1e-9), elapsed,
                perStep * (_o.Steps - _step), kind));
            // The last step checkpoints too: a run stopped after it (in the on-policy phase) need not redo any.
            if (_o.CheckpointEvery > 0 && (_step % _o.CheckpointEvery == 0 || _step == _o.Steps))
                WriteCheckpoint(Path.Combine(_o.OutputDirectory, CheckpointFolder));
        }
        Save(_o.OutputDirectory);
    }

    /// <summary>
    /// One optimisation step on the next batch; returns its kind, its mean loss per reply token and the token count.
    /// The running loss the progress shows is an exponential average over steps.
    /// </summary>
    public (string Kind, double Loss, long Tokens) TrainStep()
    {
        var kind = _o.Mix.Pick(_stream.NextDouble());
        var (loss, tokens) = TrainOn(_stream.Batch(kind, _o.BatchSize), LearningRate.At(_step, _o));
        return (kind, loss, tokens);
    }

    /// <summary>One optimisation step on <paramref name="samples"/> (all of one kind) at <paramref name="learningRate"/>.</summary>
    /// <remarks>Without garbage collections: TorchSharp's AdamW and gradient clipping pass Scalars a collection could free mid-call.</remarks>
    public (double Loss, long Tokens) TrainOn(IReadOnlyList<Sample> samples, double learningRate) =>
        CollectionPause.Run(() => Optimise(samples, learningRate));

    private (double Loss, long Tokens) Optimise(IReadOnlyList<Sample> samples, double learningRate)
    {
        using var scope = NewDisposeScope();
        using var batch = TrainingBatch.Build(samples, _inputs, _o.Date);
        foreach (var group in _optimizer.ParamGroups)
            group.LearningRate = learningRate;
        _optimizer.zero_grad();
        var (logits, states) = Forward(batch);
        var loss = F.cross_entropy(logits.view(-1, logits.shape[^1]), batch.Targets.view(-1), ignore_index: TrainingBatch.Ignore);
        var value = loss.item<float>();
        if (_probe is not null && states is not null)
            loss = loss + _o.PerceptionWeight * _probe.Loss(states, batch.Scenes, _model.Config.Vision.PatchSize);
        loss.backward();
        nn.utils.clip_grad_norm_(_parameters, _o.ClipNorm);
        _optimizer.step();
        _loss = double.IsNaN(_loss) ? value : 0.98 * _loss + 0.02 * value;
        _step++;
        return (value, batch.Tokens);
    }

    /// <summary>The running loss (an exponential average over steps).</summary>
    public double RunningLoss => _loss;

    /// <summary>The mean loss per reply token on <paramref name="samples"/> (all of one kind), without training.</summary>
    public double Loss(IReadOnlyList<Sample> samples)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var batch = TrainingBatch.Build(samples, _inputs, _o.Date);
        var logits = Forward(batch).Logits;
        return F.cross_entropy(logits.view(-1, logits.shape[^1]), batch.Targets.view(-1), ignore_index: TrainingBatch.Ignore).item<float>();
    }

    /// <summary>
    /// Next-token logits of every position [B, L, vocab], through the vision tower when the batch has images (and then
    /// the image tokens the decoder read, [B, tokens, hidden]).
    /// </summary>
    private (Tensor Logits, Tensor? States) Forward(TrainingBatch batch)
    {
        if (batch.Images is not { } images)
            return (_model.Prefill(batch.Ids, null, null, null, allLogits: true), null);
        var states = _model.EncodeImages(images.PixelValues, images.AspectRatioIds, images.AspectRatioMask);
        using var kv = _model.PrecomputeCrossAttention(states);
        using var bias = CrossAttentionBias.FromDense(batch.CrossMask!, _model.Config.Vision.TokensPerTile, _model.DType, _model.Device);
        return (_model.Prefill(batch.Ids, null, kv, bias, allLogits: true), states);
    }

    /// <summary>Writes the weights as <c>model.safetensors</c> under their Hugging Face names.</summary>
    /// <param name="note">What the file's metadata says of its training (default: this trainer's steps and seed).</param>
    public void Save(string dir, string? note = null)
    {
        Directory.CreateDirectory(dir);
        var tensors = _model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter.detach(), StringComparer.Ordinal);
        SafetensorsWriter.Write(Path.Combine(dir, Checkpoint.SingleFileName), tensors,
            new Dictionary<string, string> { ["format"] = "pt", ["llavacot"] = note ?? $"trained {_step} steps, seed {_o.Seed}" });
        foreach (var t in tensors.Values)
            t.Dispose();
    }

    private const string ProbeFile = "probe.bin";

    /// <summary>Weights, probe, optimizer state and step: what <see cref="LoadCheckpoint"/> restores.</summary>
    public void WriteCheckpoint(string dir)
    {
        Save(dir);
        _probe?.save(Path.Combine(dir, ProbeFile));
        _optimizer.save_state_dict(Path.Combine(dir, "optimizer.bin"));
        File.WriteAllText(Path.Combine(dir, StateFile), JsonSerializer.Serialize(new CheckpointState(_step, _loss)));
    }

    private sealed record CheckpointState(int Step, double Loss);

    private void Resume(string dir)
    {
        LoadCheckpoint(dir);
        // The stream is replayed to where the checkpoint left it: the same batches follow, as without the stop.
        for (var s = 0; s < _step; s++)
            _stream.Batch(_o.Mix.Pick(_stream.NextDouble()), _o.BatchSize);
    }

    /// <summary>Restores what <see cref="WriteCheckpoint"/> wrote (the example stream stays where it is).</summary>
    public void LoadCheckpoint(string dir)
    {
        var state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(Path.Combine(dir, StateFile)))
                    ?? throw new InvalidDataException($"{dir}: {StateFile} is empty");
        LoadWeights(dir);
        _probe?.load(Path.Combine(dir, ProbeFile));
        _optimizer.load_state_dict(Path.Combine(dir, "optimizer.bin"));
        (_step, _loss) = (state.Step, state.Loss);
    }

    private void LoadWeights(string dir)
    {
        using var checkpoint = Checkpoint.Open(dir);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in _model.named_parameters())
        {
            using var saved = checkpoint.Read(name, parameter.dtype, parameter.device);
            parameter.copy_(saved);
        }
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _probe?.Dispose();
        _model.Dispose();
    }
}
