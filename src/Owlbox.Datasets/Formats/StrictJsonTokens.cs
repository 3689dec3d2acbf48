using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Owlbox.Datasets.Local;

namespace Owlbox.Datasets.Formats;

/// <summary>
/// <see cref="JsonTokenStream"/> with the check <c>JsonDocument</c> makes under <c>AllowDuplicateProperties = false</c>:
/// a key twice in one object, at any depth, is invalid JSON (which one is meant is a guess). Holds a 128-bit hash per
/// key of each object open at the moment (nesting is at most 64 deep), never the file.
/// </summary>
internal sealed class StrictJsonTokens(Stream stream) : IDisposable
{
    private readonly JsonTokenStream _tokens = new(stream);
    private readonly List<HashSet<UInt128>?> _open = []; // per open container: its keys so far; null for an array
    private readonly Stack<HashSet<UInt128>> _spare = new();

    public JsonTokenType TokenType => _tokens.TokenType;

    public ReadOnlySpan<byte> Value => _tokens.Value;

    public string Text => Encoding.UTF8.GetString(_tokens.Value);

    public bool Read()
    {
        if (!_tokens.Read())
        {
            return false;
        }
        switch (TokenType)
        {
            case JsonTokenType.StartObject:
                _open.Add(_spare.TryPop(out var keys) ? keys : []);
                break;
            case JsonTokenType.StartArray:
                _open.Add(null);
                break;
            case JsonTokenType.EndObject or JsonTokenType.EndArray:
                if (_open[^1] is { } closed)
                {
                    closed.Clear();
                    _spare.Push(closed);
                }
                _open.RemoveAt(_open.Count - 1);
                break;
            case JsonTokenType.PropertyName when !_open[^1]!.Add(XxHash128.HashToUInt128(_tokens.Value)):
                throw new JsonException($"the key \"{Text}\" appears twice in one object");
        }
        return true;
    }

    /// <summary>Reads the next token, which must exist (inside a value).</summary>
    public void Next()
    {
        if (!Read())
        {
            throw new JsonException("the file ends inside a value");
        }
    }

    /// <summary>Skips the current token, and all of it when it opens an object or array (checked all the same).</summary>
    public void Skip()
    {
        var depth = 0;
        while (true)
        {
            depth += TokenType switch
            {
                JsonTokenType.StartObject or JsonTokenType.StartArray => 1,
                JsonTokenType.EndObject or JsonTokenType.EndArray => -1,
                _ => 0,
            };
            if (depth <= 0)
            {
                return;
            }
            Next();
        }
    }

    public void Dispose() => _tokens.Dispose();
}
