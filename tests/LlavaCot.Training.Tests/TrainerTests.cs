using LlavaCot.Reasoning;
using LlavaCot.Runtime;
using LlavaCot.Tests;
using LlavaCot.Training.Train;

namespace LlavaCot.Training.Tests;

/// <summary>A tiny architecture trained for a few steps: seconds, not minutes.</summary>
public sealed class TinyTraining : IDisposable
{
    public static readonly DemoArchitecture Architecture = new()
    {
        VisionHidden = 32, VisionHeads = 2, VisionLayers = 2, VisionGlobalLayers = 1, VisionIntermediateLayers = [1],
        TextHidden = 64, TextHeads = 4, TextKvHeads = 2, TextLayers = 3, CrossAttentionLayers = [1], TextIntermediate = 128,
    };

    public TempDir Folder { get; } = new();

    public TrainOptions Options(int steps) => new()
    {
        OutputDirectory = Folder.Path, Steps = steps, BatchSize = 4, VocabularySize = 400, TokenizerSamples = 150,
        WarmupSteps = 2, LearningRate = 3e-3, CheckpointEvery = 0, Architecture = Architecture, Seed = 5, Threads = 1,
    };

    public void Dispose() => Folder.Dispose();
}

public class TrainerTests(TinyTraining tiny) : IClassFixture<TinyTraining>
{
    [Fact]
    public async Task A_few_steps_lower_the_loss_reach_every_part_of_the_model_and_write_a_folder_the_loader_serves()
    {
        var options = tiny.Options(steps: 12);
        using var trainer = Trainer.Create(options, TextWriter.Null);
        var held = new ExampleStream(99).Batch("answer", 4);
        var before = trainer.Loss(held);

        trainer.TrainStep();
        // Every part of the model learns: the vision tower, the projector, the cross-attention and the text layers.
        var grads = trainer.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad is { } g ? g.abs().sum().item<float>() : 0f);
        var cross = options.Architecture.CrossAttentionLayers[0];
        foreach (var part in new[] { "vision_model.", "multi_modal_projector.", $"language_model.model.layers.{cross}.cross_attn.", "language_model.model.layers.0.self_attn.", "language_model.lm_head." })
            Assert.True(grads.Where(g => g.Key.StartsWith(part, StringComparison.Ordinal)).Sum(g => g.Value) > 0, $"no gradient reaches {part}");

        var progress = new List<TrainProgress>();
        trainer.Run(progress.Add);
        Assert.Equal(options.Steps, trainer.Step);
        Assert.Equal(options.Steps - 1, progress.Count);
        Assert.All(progress, p => Assert.True(p.TokensPerSecond > 0 && double.IsFinite(p.Loss)));
        Assert.True(trainer.Loss(held) < before, $"loss {trainer.Loss(held)} not below {before}");

        // The folder is a Hugging Face Mllama folder that the 11B's loader serves.
        using var host = await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = options.OutputDirectory, Device = "cpu" });
        Assert.Empty(host.Model.UnusedWeights);
        Assert.Empty(host.Warnings);
        var (scene, question, _) = Shapes.ShapeDataset.Draw(1, 0);
        var request = new ReasonRequest("t", Shapes.ShapeRenderer.Png(scene), question.Text, new ReasonOptions { Mode = ReasoningMode.Single, MaxNewTokens = 8, Seed = 1 });
        var events = new List<Reasoning.Events.ReasonEvent>();
        await foreach (var e in host.Reasoner.ReasonAsync(request, default))
            events.Add(e);
        Assert.IsType<Reasoning.Events.FinalAnswer>(events[^1]);
    }

    [Fact]
    public void A_stopped_run_resumes_from_its_checkpoint_and_ends_with_the_same_weights()
    {
        using var straight = new TinyTraining();
        using var stopped = new TinyTraining();
        var options = straight.Options(6) with { CheckpointEvery = 3 };
        using (var a = Trainer.Create(options, TextWriter.Null))
            a.Run();
        using var stop = new CancellationTokenSource();
        using (var b = Trainer.Create(options with { OutputDirectory = stopped.Folder.Path }, TextWriter.Null))
            Assert.ThrowsAny<OperationCanceledException>(() => b.Run(p =>
            {
                if (p.Step == 4)
                    stop.Cancel();
            }, stop.Token));
        Assert.False(File.Exists(stopped.Folder.File("model.safetensors")));
        using var resumed = Trainer.Create(options with { OutputDirectory = stopped.Folder.Path }, TextWriter.Null);
        Assert.Equal(3, resumed.Step);
        resumed.Run();
        Assert.Equal(File.ReadAllBytes(straight.Folder.File("model.safetensors")), File.ReadAllBytes(stopped.Folder.File("model.safetensors")));
    }

    [Fact]
    public void Reasoning_practice_is_text_only_and_learns_only_what_follows_the_given_caption()
    {
        using var folder = new TinyTraining();
        var options = folder.Options(1) with { Mix = new ExampleMix(0, 0, 1, 0, 0) };
        using var trainer = Trainer.Create(options, TextWriter.Null);
        var (kind, loss, _) = trainer.TrainStep();
        Assert.Equal("reasoning", kind);
        Assert.True(double.IsFinite(loss) && loss > 0);

        var config = Model.Config.MllamaConfig.Load(options.OutputDirectory);
        var inputs = Model.Inputs.ModelInputsBuilder.Load(options.OutputDirectory, config);
        var samples = new ExampleStream(7).Batch("reasoning", 3);
        using var batch = TrainingBatch.Build(samples, inputs, options.Date);
        Assert.Null(batch.Images);
        var ids = batch.Ids.data<long>().ToArray();
        var targets = batch.Targets.data<long>().ToArray();
        var length = (int)batch.Ids.shape[1];
        for (var b = 0; b < samples.Count; b++)
        {
            var learned = targets.Skip(b * length).Take(length).Where(t => t != TrainingBatch.Ignore).Select(t => (int)t).ToList();
            Assert.Equal(samples[b].Example.Reply + "<|eot_id|>", inputs.Tokenizer.Decode(learned));
            // The caption is in the input, before the first learned token.
            var seen = inputs.Tokenizer.Decode(ids.Skip(b * length).Take(length).Select(i => (int)i));
            Assert.Contains(samples[b].Example.Given + samples[b].Example.Reply, seen);
        }
    }
}
