using LlavaCot.Model;
using LlavaCot.Model.Generation;
using LlavaCot.Model.Inputs;
using static TorchSharp.torch;

namespace LlavaCot.Training.Eval;

/// <summary>
/// Two models' logits on the same reference answers, teacher-forced: each item's prompt (its image and question) followed
/// by its reference answer, one forward pass each; compared at every position that predicts an answer token (top-1
/// agreement, relative RMS error of the logits). Measures what quantization changes where the model is confident.
/// </summary>
public static class TeacherForced
{
    /// <summary>Items without a reference answer are skipped; runs on the calling thread.</summary>
    public static LogitAgreement Compare(MllamaModel reference, MllamaModel other, ModelInputsBuilder inputs, IReadOnlyList<EvalItem> items,
        DateOnly date, Action<int>? progress = null)
    {
        var agreement = new LogitAgreement();
        using var mode = inference_mode();
        var done = 0;
        foreach (var item in items)
        {
            if (item.Reference is { } answerText)
            {
                using var scope = NewDisposeScope();
                var image = item.Image is { } bytes ? ImageDecoder.Decode(bytes.Span) : null;
                var prompt = inputs.Tokenizer.Encode(inputs.Prompt(item.Question, image is not null, date));
                var answer = inputs.Tokenizer.EncodeUser(answerText);
                using var forward = inputs.FromIds([.. prompt, .. answer], image is null ? null : inputs.Images.Process(image));
                // Position i predicts token i + 1: the answer's tokens are predicted from the prompt's last position on.
                agreement.Add(Logits(reference, forward).narrow(1, prompt.Count - 1, answer.Count),
                    Logits(other, forward).narrow(1, prompt.Count - 1, answer.Count));
            }
            progress?.Invoke(++done);
        }
        return agreement;
    }

    private static Tensor Logits(MllamaModel model, ModelInputs inputs)
    {
        using var image = ImageContext.Create(model, inputs);
        return model.Prefill(inputs.InputIds, null, image?.Kv, image?.Prompt, allLogits: true);
    }
}
