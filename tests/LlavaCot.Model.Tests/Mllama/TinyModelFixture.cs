using LlavaCot.Tests;

namespace LlavaCot.Model.Tests.Mllama;

/// <summary>The mllama-tiny model in fp32, loaded once per test class.</summary>
public sealed class TinyModelFixture : IDisposable
{
    public MllamaModel Model { get; } = MllamaModel.Load(Fixtures.MllamaTiny);

    public void Dispose() => Model.Dispose();
}
