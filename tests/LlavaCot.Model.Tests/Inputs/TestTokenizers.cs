using LlavaCot.Model.Config;
using LlavaCot.Model.Inputs;
using LlavaCot.Tests;

namespace LlavaCot.Model.Tests.Inputs;

/// <summary>Tokenizers loaded once per test run: the 128k-token Llama 3 files take a moment.</summary>
internal static class TestTokenizers
{
    private static readonly Lazy<ITokenizer> Llama3Lazy = new(() =>
        TokenizerLoader.Load(Llama3Dir, MllamaConfig.Load(Fixtures.Path("mllama-bench-config"))));

    private static readonly Lazy<ITokenizer> TinyLazy = new(() =>
        TokenizerLoader.Load(Fixtures.MllamaTiny, MllamaConfig.Load(Fixtures.MllamaTiny)));

    public static string Llama3Dir => Fixtures.Path("llama3-tokenizer");

    /// <summary>The Llama 3 files with the vision config's <c>&lt;|image|&gt;</c> added.</summary>
    public static ITokenizer Llama3 => Llama3Lazy.Value;

    public static ITokenizer Tiny => TinyLazy.Value;
}
