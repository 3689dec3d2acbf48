using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Local;

/// <summary>
/// The setup check's fast pass over a labels file: the rules <see cref="LabelsReader"/> checks (the top level by
/// <see cref="LabelsHeader"/>, every box and metadata object), on one <see cref="Utf8JsonReader"/> per 1 MB of the file
/// and without building anything for an entry (no strings, no boxes), while it notes what the index needs. It only says
/// whether the file is sound: on anything else (a rule broken, an escaped key it does not unescape, a sample twice) the
/// caller reads the file again with <see cref="LabelsReader"/>, which names the problem with its field and line, so the
/// messages have one source. It never accepts what the reader refuses; what it leaves to the reader only costs time.
/// </summary>
internal sealed class LabelsCheck : IDisposable
{
    private enum Step
    {
        Done,
        More,
        Bad,
    }

    private enum Phase
    {
        Start,
        Members,
        Section,
        After,
    }

    private readonly Stream _stream;
    private readonly LabelsHeader _header;
    private readonly LabelsIndex.Builder _index;
    private readonly HashSet<string> _metadataKeys = new(StringComparer.Ordinal);
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
    private byte[] _name = ArrayPool<byte>.Shared.Rent(256);
    private int _start, _end;
    private long _base; // the file offset of _buffer[0]
    private bool _final;
    private JsonReaderState _state;
    private Phase _phase;
    private LabelsSection _section;
    private bool _done;

    private LabelsCheck(Stream stream, string path, LabelsIndex.Builder index) =>
        (_stream, _header, _index) = (stream, new LabelsHeader(path), index);

    /// <summary>Whether the file is a sound labels file (then <paramref name="index"/> has all of it); false is no
    /// verdict: the reader is to check it.</summary>
    public static bool Run(string file, string path, LabelsIndex.Builder index)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        using var check = new LabelsCheck(stream, path, index);
        try
        {
            return check.Run();
        }
        catch (Exception e) when (e is JsonException or DatasetException or InvalidOperationException)
        {
            return false;
        }
    }

    private bool Run()
    {
        Refill();
        if (_buffer.AsSpan(0, _end).StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            _start = 3; // a byte-order mark; offsets stay the file's
        }
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _final, _state);
            var step = Steps(ref reader, out var consumed, out var state);
            if (step != Step.More)
            {
                return step == Step.Done;
            }
            _start += consumed;
            _state = state;
            if (_final)
            {
                return false; // the file ends inside a value
            }
            Refill();
        }
    }

    /// <summary>Whole units (a top-level member, a section entry) while the buffer holds them; a unit cut by the buffer's
    /// end is read again after the refill, so a unit's effects (the header's, the index's) happen once it is whole.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // run once per process, hot at once: no tiering up
    private Step Steps(ref Utf8JsonReader reader, out int consumed, out JsonReaderState state)
    {
        while (true)
        {
            var saved = reader;
            var step = Unit(ref reader);
            if (step == Step.More)
            {
                consumed = (int)saved.BytesConsumed;
                state = saved.CurrentState;
                return Step.More;
            }
            if (step == Step.Bad || _done)
            {
                consumed = 0;
                state = default;
                return step;
            }
        }
    }

    private long At(ref Utf8JsonReader reader) => _base + _start + reader.TokenStartIndex;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // run once per process, hot at once: no tiering up
    private Step Unit(ref Utf8JsonReader reader)
    {
        switch (_phase)
        {
            case Phase.Start:
                if (!reader.Read())
                {
                    return Step.More;
                }
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return Step.Bad;
                }
                _phase = Phase.Members;
                return Step.Done;
            case Phase.Members:
                return Member(ref reader);
            case Phase.Section:
                return Entry(ref reader);
            default:
                if (reader.Read())
                {
                    return Step.Bad; // content after the root object
                }
                if (!_final)
                {
                    return Step.More;
                }
                _done = true;
                return Step.Done;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // run once per process, hot at once: no tiering up
    private Step Member(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            return Step.More;
        }
        if (reader.TokenType == JsonTokenType.EndObject)
        {
            _index.RootEnd(At(ref reader));
            _header.End();
            _phase = Phase.After;
            return Step.Done;
        }
        if (reader.ValueIsEscaped)
        {
            return Step.Bad;
        }
        var name = Encoding.UTF8.GetString(reader.ValueSpan);
        var nameAt = At(ref reader);
        if (!reader.Read())
        {
            return Step.More;
        }
        var type = reader.TokenType;
        var valueAt = At(ref reader);
        if (type == JsonTokenType.StartObject && name is "boundingBoxes" or "metadata")
        {
            _section = _header.Property(name, type, default);
            _index.RootMember(_section, nameAt, valueAt);
            _phase = Phase.Section;
            return Step.Done;
        }
        if (type == JsonTokenType.String && reader.ValueIsEscaped)
        {
            return Step.Bad;
        }
        var value = type is JsonTokenType.String or JsonTokenType.Number ? reader.ValueSpan.ToArray() : [];
        if (type is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip())
        {
            return Step.More;
        }
        _index.RootMember(_header.Property(name, type, value), nameAt, valueAt);
        return Step.Done;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // run once per process, hot at once: no tiering up
    private Step Entry(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            return Step.More;
        }
        if (reader.TokenType == JsonTokenType.EndObject)
        {
            _index.SectionEnd(_section, At(ref reader));
            _section = LabelsSection.Other;
            _phase = Phase.Members;
            return Step.Done;
        }
        var nameAt = At(ref reader);
        ReadOnlySpan<byte> name;
        if (reader.ValueIsEscaped)
        {
            if (_name.Length < reader.ValueSpan.Length)
            {
                ArrayPool<byte>.Shared.Return(_name);
                _name = ArrayPool<byte>.Shared.Rent(reader.ValueSpan.Length);
            }
            name = _name.AsSpan(0, reader.CopyString(_name));
        }
        else
        {
            name = reader.ValueSpan;
        }
        var hash = XxHash128.HashToUInt128(name);
        if (!reader.Read())
        {
            return Step.More;
        }
        var step = _section == LabelsSection.BoundingBoxes ? Boxes(ref reader) : Metadata(ref reader);
        if (step == Step.Done)
        {
            _index.Add(_section, hash, nameAt); // a sample twice in a section shows in the sorted index
        }
        return step;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // run once per process, hot at once: no tiering up
    private static Step Boxes(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return Step.Bad;
        }
        while (true)
        {
            if (!reader.Read())
            {
                return Step.More;
            }
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return Step.Done;
            }
            var step = Box(ref reader);
            if (step != Step.Done)
            {
                return step;
            }
        }
    }

    /// <summary>A box as <see cref="LabelsReader"/> takes it: a string label, four numbers that are pixels
    /// (<see cref="BoxRules"/>), no known key twice; other keys any JSON.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // run once per process, hot at once: no tiering up
    private static Step Box(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return Step.Bad;
        }
        Span<double> values = stackalloc double[4];
        var seen = 0;
        var numbers = 0;
        var label = false;
        while (true)
        {
            if (!reader.Read())
            {
                return Step.More;
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }
            if (reader.ValueIsEscaped)
            {
                return Step.Bad;
            }
            var key = KeyOf(reader.ValueSpan);
            if (!reader.Read())
            {
                return Step.More;
            }
            if (key >= 0)
            {
                if ((seen & (1 << key)) != 0)
                {
                    return Step.Bad;
                }
                seen |= 1 << key;
                if (key == 0)
                {
                    label = reader.TokenType == JsonTokenType.String;
                }
                else if (key <= 4 && reader.TokenType == JsonTokenType.Number)
                {
                    // Whole numbers (the usual coordinates) without the general parser; the same value either way.
                    values[key - 1] = Utf8Parser.TryParse(reader.ValueSpan, out int n, out var used) && used == reader.ValueSpan.Length ? n
                        : double.TryParse(reader.ValueSpan, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN;
                    numbers |= 1 << key;
                }
            }
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip())
            {
                return Step.More;
            }
        }
        if (!label || numbers != 0b11110)
        {
            return Step.Bad;
        }
        return BoxRules.Pixel(values[0]) is { } x && BoxRules.Pixel(values[1]) is { } y && BoxRules.Pixel(values[2]) is { } w
            && BoxRules.Pixel(values[3]) is { } h && BoxRules.Problem(x, y, w, h) is null
            ? Step.Done
            : Step.Bad;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // run once per process, hot at once: no tiering up
    private static int KeyOf(ReadOnlySpan<byte> name) =>
        name.Length switch
        {
            1 => name[0] == (byte)'x' ? 1 : name[0] == (byte)'y' ? 2 : -1,
            5 => name.SequenceEqual("label"u8) ? 0 : name.SequenceEqual("width"u8) ? 3 : name.SequenceEqual("score"u8) ? 5 : -1,
            6 => name.SequenceEqual("height"u8) ? 4 : -1,
            _ => -1,
        };

    private Step Metadata(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return Step.Bad;
        }
        _metadataKeys.Clear();
        while (true)
        {
            if (!reader.Read())
            {
                return Step.More;
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return Step.Done;
            }
            if (!_metadataKeys.Add(reader.GetString()!))
            {
                return Step.Bad;
            }
            if (!reader.Read())
            {
                return Step.More;
            }
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null))
            {
                return Step.Bad;
            }
        }
    }

    private void Refill()
    {
        var pending = _end - _start;
        if (pending == _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2); // one unit longer than the buffer
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
        while (_end < _buffer.Length)
        {
            var n = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (n == 0)
            {
                _final = true;
                break;
            }
            _end += n;
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        ArrayPool<byte>.Shared.Return(_name);
    }
}
