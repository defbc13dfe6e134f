namespace LlavaCot.Server.Api;

/// <summary>Problems with named request fields, answered together as one 400 problem+json.</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
            _errors[field] = list = [];
        list.Add(message);
    }

    public IResult ToResult() => Problems.Fields(_errors.ToDictionary(p => p.Key, p => p.Value.ToArray()));
}
