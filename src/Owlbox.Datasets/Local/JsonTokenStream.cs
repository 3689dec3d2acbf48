using System.Buffers;
using System.Text.Json;

namespace Owlbox.Datasets.Local;

/// <summary>
/// Reads JSON from a stream one token at a time through a fixed 64 KB buffer (grown only for a single token longer
/// than that), so a file of any size is transformed in constant memory. Strings and property names come unescaped;
/// numbers and literals as their raw text. Throws <see cref="JsonException"/> on invalid JSON.
/// </summary>
internal sealed class JsonTokenStream(Stream stream) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
    private byte[] _value = ArrayPool<byte>.Shared.Rent(256);
    private int _start, _end, _valueLength;
    private long _base; // the stream offset of _buffer[0]
    private bool _final;
    private bool _bomChecked;
    private JsonReaderState _state;

    public JsonTokenType TokenType { get; private set; }

    /// <summary>Where the current token starts, in bytes from the stream's start (a string's or property name's opening
    /// quote): what <see cref="LabelsIndex"/> keeps to come back to an entry.</summary>
    public long TokenStart { get; private set; }

    /// <summary>Unescaped UTF-8 of a string or property name; the raw text of a number or literal; empty otherwise.</summary>
    public ReadOnlySpan<byte> Value => _value.AsSpan(0, _valueLength);

    public bool Read()
    {
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _final, _state);
            var read = reader.Read();
            if (read)
            {
                TokenType = reader.TokenType;
                TokenStart = _base + _start + reader.TokenStartIndex;
                Capture(ref reader);
            }
            _start += (int)reader.BytesConsumed;
            _state = reader.CurrentState;
            if (read)
            {
                return true;
            }
            if (_final)
            {
                return false;
            }
            Refill();
        }
    }

    /// <summary>Copies the current token, and all of it when it opens an object or array, to <paramref name="w"/>.</summary>
    public void CopyValue(Utf8JsonWriter w)
    {
        var depth = 0;
        do
        {
            switch (TokenType)
            {
                case JsonTokenType.StartObject:
                    w.WriteStartObject();
                    depth++;
                    break;
                case JsonTokenType.StartArray:
                    w.WriteStartArray();
                    depth++;
                    break;
                case JsonTokenType.EndObject:
                    w.WriteEndObject();
                    depth--;
                    break;
                case JsonTokenType.EndArray:
                    w.WriteEndArray();
                    depth--;
                    break;
                case JsonTokenType.PropertyName:
                    w.WritePropertyName(Value);
                    break;
                case JsonTokenType.String:
                    w.WriteStringValue(Value);
                    break;
                case JsonTokenType.Number:
                    WriteNumber(w, Value);
                    break;
                case JsonTokenType.True or JsonTokenType.False:
                    w.WriteBooleanValue(TokenType == JsonTokenType.True);
                    break;
                case JsonTokenType.Null:
                    w.WriteNullValue();
                    break;
                default:
                    throw new JsonException($"unexpected {TokenType}");
            }
        }
        while (depth > 0 && Next());
    }

    /// <summary>A number exactly as the file has it (WriteRawValue would not indent it).</summary>
    private static void WriteNumber(Utf8JsonWriter w, ReadOnlySpan<byte> raw)
    {
        Span<byte> canonical = stackalloc byte[24];
        if (System.Buffers.Text.Utf8Parser.TryParse(raw, out long n, out var used) && used == raw.Length
            && System.Buffers.Text.Utf8Formatter.TryFormat(n, canonical, out var length) && canonical[..length].SequenceEqual(raw))
        {
            w.WriteNumberValue(n); // the common case: box coordinates
            return;
        }
        using var number = JsonDocument.Parse(raw.ToArray());
        number.RootElement.WriteTo(w); // writes the number's own text
    }

    /// <summary>Skips the current token, and all of it when it opens an object or array.</summary>
    public void SkipValue()
    {
        var depth = 0;
        do
        {
            depth += TokenType switch
            {
                JsonTokenType.StartObject or JsonTokenType.StartArray => 1,
                JsonTokenType.EndObject or JsonTokenType.EndArray => -1,
                _ => 0,
            };
        }
        while (depth > 0 && Next());
    }

    /// <summary>Reads the next token, which must exist (inside a value).</summary>
    public bool Next() => Read() ? true : throw new JsonException("the file ends inside a value");

    private void Capture(ref Utf8JsonReader reader)
    {
        var raw = reader.ValueSpan;
        if (_value.Length < raw.Length)
        {
            ArrayPool<byte>.Shared.Return(_value);
            _value = ArrayPool<byte>.Shared.Rent(raw.Length);
        }
        _valueLength = reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped
            ? reader.CopyString(_value)
            : CopyRaw(raw);
    }

    private int CopyRaw(ReadOnlySpan<byte> raw)
    {
        raw.CopyTo(_value);
        return raw.Length;
    }

    private void Refill()
    {
        var pending = _end - _start;
        if (pending == _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2); // one token longer than the buffer
            _buffer.AsSpan(_start, pending).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        else
        {
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
        }
        _base += _start;
        (_start, _end) = (0, pending);
        var n = stream.Read(_buffer, _end, _buffer.Length - _end);
        _end += n;
        _final = n == 0;
        if (!_bomChecked && (_end >= 3 || _final))
        {
            // A UTF-8 byte-order mark, which Utf8JsonReader does not take (editors on Windows write one).
            _bomChecked = true;
            if (_buffer.AsSpan(0, _end).StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                _start = 3;
            }
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        ArrayPool<byte>.Shared.Return(_value);
    }
}
