using LlavaCot.Cli.Commands;
using LlavaCot.Model;
using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Model.IO;
using LlavaCot.Reasoning;
using LlavaCot.Runtime;

namespace LlavaCot.Cli;

/// <summary>Entry point of the <c>llavacot</c> command line; returns the process exit code.</summary>
public static class CliApp
{
    private const string Usage = """
        usage: llavacot <command> [arguments]

        commands:
          inspect <model dir> [--weights <file>]   config summary, tensor count, parameters, bytes per dtype
          verify-fixture <fixture dir> [--quantize int8|int4]   run a golden fixture's cases and compare every stored tensor;
                 --quantize: top-1 agreement and logit error of quantized weights against the same weights unquantized
          tokenize <model dir> "text" [--user]     token ids and tokens (--user: as user text, never special)
          preprocess <model dir> <image> [--out <file.safetensors>]   image sizes, tile grid, aspect-ratio id; --out saves the tensors
          reason <model dir> <image|-> "question" [--mode stage_beam|best_of_n|sentence_beam|single|two_stage|swires|self_consistency|weighted_best_of_n]
                 [--scorer pairwise|verifier|none] [--swires-cutoff c] [--n N] [--seed S] [--max-new-tokens T] [--temperature t] [--date YYYY-MM-DD]
                 [--dtype auto|float32|bfloat16] [--bf16-support auto|native|emulated] [--quantize int8|int4] [--tokens true]
                 answer a question, stage by stage; the image is a file or - for standard input.
                 --scorer chooses among candidates (default: the mode's first): stage_beam and best_of_n pairwise or verifier,
                 sentence_beam pairwise, swires and weighted_best_of_n verifier, self_consistency verifier or pairwise (ties only),
                 single and two_stage none. --swires-cutoff (swires, 0..1): backtrack while the second-best reasoning's P(correct) is at or below it
          reason <model dir> --no-image "question" [options as above]   a text-only question
          data shapes --out DIR [--count N] [--seed S]   write the synthetic shapes task (images + JSONL), the same for a seed
          eval <model dir> <dataset.jsonl|.tsv> [--modes single,stage_beam,...] [--scorers pairwise,verifier] [--n 1,2,4,8] [--limit K]
                 [--json out.json] [--plot out.png] [--answers out.jsonl] [--blank] [--seed S] [--max-new-tokens T] [--judge-max-new-tokens J] [--workers W] [--quantize int8,int4]
                 per mode × scorer × N (and a greedy single pass): accuracy, vs single, tags, scorer agreement per stage, tokens and
                 model seconds per question; --plot: accuracy against model seconds; W model instances answer at once
          train --out DIR [--steps N] [--batch B] [--lr R] [--min-lr R] [--warmup N] [--seed S] [--vocab V] [--checkpoint-every K]
                 [--threads T] [--mix answers,captions,reasonings,judges,prechecks] [--perception W] [--patch P] [--vision-hidden H] [--vision-layers L]
                 [--vision-global-layers G] [--text-hidden H] [--text-layers L] [--cross-layers i,j] [--text-intermediate I] [--log-every K]
                 train the shapes demo model into a Hugging Face folder (resumes from its checkpoint); the defaults make models/demo;
                 --log-every K: a loss line every K steps (on a terminal 50 by default; in a log only when given)
          make-random <config dir> <out dir> [--dtype bf16|fp32] [--shards K] [--seed S] [--tokenizer <dir>]
                 a Hugging Face folder with the config's tensor names and shapes and seeded random values, written tensor by tensor
          quantize <model dir> <out dir> [--bits 8|4] [--shards K]   a copy whose text-decoder and projector linear weights are
                 int8 (+ scales), or with --bits 4 4-bit in groups of 32 (+ fp16 scales, output head int8)
          bench search [<config dir>] [--n 1,2,4] [--scorer pairwise,verifier] [--runs R] [--no-naive] [--dtype bf16|fp32] [--quantize int8|int4] [--tokenizer <dir>]
                 optimised vs naive stage search, its judge-free floor, and N vs single (the median of R runs)
          bench serve [<config dir>] [--k 1,2,4,8] [--n 4] [--scorer pairwise|verifier] [--dtype bf16|fp32] [--quantize int8|int4] [--tokenizer <dir>]   K searches at once vs one after another
          bench decode [<config dir>] [--steps N]   ms per decode step at batch 1 and 4 in fp32, bf16, int8 and int4 against the bandwidth bound
          bench vision [<config dir>] [--runs N]   vision tower s/image in fp32, bf16, and bf16 weights computed in fp32
          bench preprocess [<model dir>] [--runs N]   decode + preprocess time of a 4032×3024 JPEG (default: the bench config)

        bench commands without a folder take mllama-bench-config from $LLAVACOT_SHARED/fixtures, ../shared/fixtures or the
        repository's vendored tests/fixtures, in that order

        progress: a bar on a terminal; in a log (output redirected), one line per 10 % of the work or 30 s, and one at the end
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, Stream? stdin = null)
    {
        TorchNative.Initialize();
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            return args[0] switch
            {
                "inspect" => InspectCommand.Run(CommandArgs.Parse(args[1..], ["weights"]), stdout),
                "verify-fixture" => VerifyFixtureCommand.Run(CommandArgs.Parse(args[1..], VerifyFixtureCommand.Options), stdout),
                "tokenize" => TokenizeCommand.Run(args[1..], stdout),
                "preprocess" => PreprocessCommand.Run(CommandArgs.Parse(args[1..], ["out"]), stdout),
                "reason" => ReasonCommand.Run(CommandArgs.Parse(args[1..], ReasonCommand.Options, ReasonCommand.Flags), stdout,
                    stdin ?? Stream.Null),
                "data" => DataCommand.Run(CommandArgs.Parse(args[1..], DataCommand.Options), stdout),
                "eval" => EvalCommand.Run(CommandArgs.Parse(args[1..], EvalCommand.Options, EvalCommand.Flags), stdout),
                "train" => TrainCommand.Run(CommandArgs.Parse(args[1..], TrainCommand.Options, TrainCommand.Flags), stdout),
                "make-random" => MakeRandomCommand.Run(CommandArgs.Parse(args[1..], MakeRandomCommand.Options), stdout),
                "quantize" => QuantizeCommand.Run(CommandArgs.Parse(args[1..], QuantizeCommand.Options), stdout),
                "bench" when args.Length > 1 && args[1] == "search" => BenchSearchCommand.Run(CommandArgs.Parse(args[2..], BenchSearchCommand.Options, BenchSearchCommand.Flags), stdout),
                "bench" when args.Length > 1 && args[1] == "serve" => BenchServeCommand.Run(CommandArgs.Parse(args[2..], BenchServeCommand.Options), stdout),
                "bench" when args.Length > 1 && args[1] == "decode" => BenchDecodeCommand.Run(CommandArgs.Parse(args[2..], BenchDecodeCommand.Options), stdout),
                "bench" when args.Length > 1 && args[1] == "vision" => BenchVisionCommand.Run(CommandArgs.Parse(args[2..], BenchVisionCommand.Options), stdout),
                "bench" when args.Length > 1 && args[1] == "preprocess" => BenchPreprocessCommand.Run(CommandArgs.Parse(args[2..], ["runs"]), stdout),
                _ => Fail(stderr, $"unknown command '{args[0]}'\n{Usage}", 2),
            };
        }
        catch (UsageException ex)
        {
            return Fail(stderr, $"{ex.Message}\n{Usage}", 2);
        }
        catch (Exception ex) when (ex is SafetensorsException or ConfigException or IOException or ImageDecodeException or ArgumentException
                                       or InvalidReasonRequestException or ModelLoadException)
        {
            return Fail(stderr, $"error: {ex.Message}", 1);
        }
    }

    private static int Fail(TextWriter stderr, string message, int code)
    {
        stderr.WriteLine(message);
        return code;
    }
}
