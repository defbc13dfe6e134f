using LlavaCot.Model.Inputs;
using LlavaCot.Model.IO;
using LlavaCot.Tests;
using static TorchSharp.torch;

namespace LlavaCot.Model.Tests.Mllama;

/// <summary>One <c>cases/*.safetensors</c> of a fixture folder: its inputs and golden tensors.</summary>
public sealed class FixtureCase : IDisposable
{
    private readonly SafetensorsFile _file;

    public string Name { get; }

    private FixtureCase(string path)
    {
        _file = SafetensorsFile.Open(path);
        Name = Path.GetFileNameWithoutExtension(path);
    }

    public static FixtureCase Open(string folder, string name) => new(Path.Combine(folder, "cases", name + ".safetensors"));

    public static IReadOnlyList<string> Names(string folder) =>
        Directory.GetFiles(Path.Combine(folder, "cases"), "*.safetensors").Order()
            .Select(f => Path.GetFileNameWithoutExtension(f)).ToList();

    public static TheoryData<string> TinyNames() => new(Names(Fixtures.MllamaTiny));

    public bool Has(string name) => _file.Contains(name);

    public Tensor Read(string name) => _file.Read(name);

    public long[] ReadIds(string name)
    {
        using var t = Read(name);
        return t.data<long>().ToArray();
    }

    public ModelInputs Inputs() => new(
        Read("input_ids"), Read("pixel_values"), Read("aspect_ratio_ids"), Read("aspect_ratio_mask"), Read("cross_attention_mask"));

    public void Dispose() => _file.Dispose();
}
