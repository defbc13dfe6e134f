using static TorchSharp.torch;

namespace LlavaCot.Model;

/// <summary>
/// Collects intermediate tensors of a forward pass under the fixture's names, for parity checks. Recorded
/// tensors are detached copies that outlive every dispose scope; the trace owns and frees them.
/// </summary>
public sealed class ForwardTrace : IDisposable
{
    private readonly Dictionary<string, Tensor> _tensors = new();
    private readonly Dictionary<string, List<Tensor>> _series = new();

    public IReadOnlyDictionary<string, Tensor> Tensors => _tensors;

    public void Record(string name, Tensor value)
    {
        if (_tensors.Remove(name, out var old))
            old.Dispose();
        _tensors[name] = Keep(value);
    }

    /// <summary>Appends one element of a series (e.g. per-layer outputs); <see cref="Stack"/> makes it one tensor.</summary>
    public void Append(string name, Tensor value)
    {
        if (!_series.TryGetValue(name, out var list))
            _series[name] = list = [];
        list.Add(Keep(value));
    }

    /// <summary>Stacks every series into a tensor of the same name (along a new first axis) and clears the series.</summary>
    public void Stack()
    {
        foreach (var (name, list) in _series)
        {
            Record(name, stack(list));
            list.ForEach(t => t.Dispose());
        }
        _series.Clear();
    }

    private static Tensor Keep(Tensor t) => t.detach().to(ScalarType.Float32, copy: true).DetachFromDisposeScope();

    public void Dispose()
    {
        foreach (var t in _tensors.Values)
            t.Dispose();
        foreach (var t in _series.Values.SelectMany(l => l))
            t.Dispose();
        _tensors.Clear();
        _series.Clear();
    }
}
