using System.Buffers;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Local;

/// <summary>One entry of the labels file, as read: a sample's boxes (an entry of <c>"boundingBoxes"</c>) or its
/// metadata (an entry of <c>"metadata"</c>); the other is null. A sample may have both, in the two sections.</summary>
public sealed record LabelsEntry(string SampleId, IReadOnlyList<LabeledBox>? Boxes, IReadOnlyDictionary<string, string>? Metadata)
{
    /// <summary>Each box's own JSON as the file has it (its extra keys, its number text), when the reader was asked to
    /// keep it: what the writer writes back for a box it keeps.</summary>
    internal IReadOnlyList<byte[]>? BoxJson { get; init; }
}

/// <summary>
/// The one reader of <c>bounding_boxes.labels</c>: streams the file through <see cref="Utf8JsonReader"/> over a
/// bounded buffer (<see cref="JsonTokenStream"/>) and hands back one entry at a time, checked as it is read: the top
/// level by <see cref="LabelsHeader"/>, each box and metadata object as Edge Impulse and <see cref="BoxRules"/> allow,
/// a sample listed twice in a section refused. Its memory is the buffer (64 KB, grown only for one longer token), the
/// entry being read and, for the duplicate check, 16 bytes per sample read (a 128-bit hash of its name), never the file.
/// The whole file is checked once the reader has returned null (its end).
/// </summary>
public sealed class LabelsReader : IDisposable
{
    private readonly Stream _stream;
    private readonly JsonTokenStream _tokens;
    private readonly string _path;
    private readonly LabelsHeader _header;
    private readonly Func<string, bool>? _wanted;
    private readonly bool _checkAll;
    private readonly bool _keepJson;
    private readonly LabelsIndex.Builder? _index;
    private readonly HashSet<UInt128> _boxIds = [];
    private readonly HashSet<UInt128> _metadataIds = [];
    private ArrayBufferWriter<byte>? _json;
    private LabelsSection _section;
    private bool _started;
    private bool _done;

    /// <param name="stream">The file's bytes (a UTF-8 byte-order mark is skipped); disposed with the reader.</param>
    /// <param name="path">The file as the user named it, for the messages.</param>
    /// <param name="wanted">The samples whose entries are returned (all when null).</param>
    /// <param name="checkAll">Whether the entries not wanted are checked too (a whole-file check) or only passed over
    /// (a writer's read of a few samples, in a file checked when the job started).</param>
    /// <param name="keepJson">Whether to keep each box's own JSON (<see cref="LabelsEntry.BoxJson"/>).</param>
    public LabelsReader(Stream stream, string path, Func<string, bool>? wanted = null, bool checkAll = true, bool keepJson = false)
        : this(stream, path, wanted, checkAll, keepJson, null)
    {
    }

    /// <param name="index">Given each entry's name and where it starts, as read (<see cref="LabelsIndex"/>).</param>
    internal LabelsReader(Stream stream, string path, Func<string, bool>? wanted, bool checkAll, bool keepJson, LabelsIndex.Builder? index)
    {
        _index = index;
        _stream = stream;
        _tokens = new JsonTokenStream(stream);
        _path = path;
        _header = new LabelsHeader(path);
        _wanted = wanted;
        _checkAll = checkAll;
        _keepJson = keepJson;
    }

    /// <summary>The entries of the file <paramref name="path"/> names (a symbolic link is followed; a missing file has
    /// none), read one at a time as enumerated.</summary>
    public static IEnumerable<LabelsEntry> ReadFile(string path, Func<string, bool>? wanted = null, bool checkAll = true) =>
        ReadFile(LabelsFile.ResolvePath(path), path, wanted, checkAll, keepJson: false);

    internal static IEnumerable<LabelsEntry> ReadFile(string file, string path, Func<string, bool>? wanted, bool checkAll, bool keepJson,
        LabelsIndex.Builder? index = null)
    {
        if (!File.Exists(file))
        {
            yield break;
        }
        // No FileStream buffer: the token stream reads 64 KB at a time into its own.
        using var reader = new LabelsReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan),
            path, wanted, checkAll, keepJson, index);
        while (reader.Read() is { } entry)
        {
            yield return entry;
        }
    }

    /// <summary>The next entry wanted, or null at the end of the file (then checked whole).</summary>
    /// <exception cref="DatasetException">The file is not a labels file Owlbox can read, with the reason, naming the
    /// file and the field.</exception>
    public LabelsEntry? Read()
    {
        try
        {
            return ReadEntry();
        }
        catch (JsonException e)
        {
            throw LabelsHeader.Invalid(_path, e);
        }
    }

    private LabelsEntry? ReadEntry()
    {
        if (!_started)
        {
            _started = true;
            _header.Root(_tokens.Read() ? _tokens.TokenType : JsonTokenType.None);
        }
        while (true)
        {
            if (_section != LabelsSection.Other)
            {
                if (_tokens.Next() && _tokens.TokenType != JsonTokenType.PropertyName)
                {
                    _index?.SectionEnd(_section, _tokens.TokenStart);
                    _section = LabelsSection.Other; // the section's end
                    continue;
                }
                var hash = XxHash128.HashToUInt128(_tokens.Value);
                _index?.Add(_section, hash, _tokens.TokenStart);
                var id = Encoding.UTF8.GetString(_tokens.Value);
                _tokens.Next();
                var keep = _wanted?.Invoke(id) ?? true;
                if (!keep && !_checkAll)
                {
                    _tokens.SkipValue();
                    continue;
                }
                var boxes = _section == LabelsSection.BoundingBoxes;
                var field = $"{(boxes ? "boundingBoxes" : "metadata")}[\"{id}\"]";
                if (!(boxes ? _boxIds : _metadataIds).Add(hash))
                {
                    throw LabelsHeader.Duplicate(_path, field);
                }
                var entry = boxes ? ReadBoxes(id, field, keep) : new LabelsEntry(id, null, ReadMetadata(field));
                if (keep)
                {
                    return entry;
                }
                continue;
            }
            if (_done)
            {
                return null;
            }
            _tokens.Next();
            if (_tokens.TokenType == JsonTokenType.EndObject)
            {
                _index?.RootEnd(_tokens.TokenStart);
                _header.End();
                _done = true;
                return _tokens.Read() ? throw new JsonException($"{_tokens.TokenType} after the end of the file's object") : null;
            }
            var name = Encoding.UTF8.GetString(_tokens.Value);
            var nameAt = _tokens.TokenStart;
            _tokens.Next();
            _section = _header.Property(name, _tokens.TokenType, _tokens.Value);
            _index?.RootMember(_section, nameAt, _tokens.TokenStart);
            if (_section == LabelsSection.Other)
            {
                _tokens.SkipValue();
            }
        }
    }

    private LabelsEntry ReadBoxes(string id, string field, bool keep)
    {
        if (_tokens.TokenType != JsonTokenType.StartArray)
        {
            throw new DatasetException($"{_path}: {field} must be an array");
        }
        var boxes = new List<LabeledBox>();
        var json = keep && _keepJson ? new List<byte[]>() : null;
        for (var i = 0; _tokens.Next() && _tokens.TokenType != JsonTokenType.EndArray; i++)
        {
            boxes.Add(ReadBox(field, i, json));
        }
        return new LabelsEntry(id, boxes, null) { BoxJson = json };
    }

    private static readonly string[] s_keys = ["label", "x", "y", "width", "height", "score"];

    private static int KeyOf(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("label"u8) ? 0
        : name.SequenceEqual("x"u8) ? 1
        : name.SequenceEqual("y"u8) ? 2
        : name.SequenceEqual("width"u8) ? 3
        : name.SequenceEqual("height"u8) ? 4
        : name.SequenceEqual("score"u8) ? 5
        : -1;

    /// <summary>A box object: its five keys Edge Impulse reads, its <c>score</c> when a number; other keys are kept in its
    /// JSON only. Checked in the order the keys are listed, so the first problem named is always the same.</summary>
    private LabeledBox ReadBox(string entryField, int i, List<byte[]>? json)
    {
        // Built only for a message: two strings a box add up over a file of millions of boxes.
        string Field() => $"{entryField}[{i}]";
        string Where() => $"{_path}: {Field()}";
        if (_tokens.TokenType != JsonTokenType.StartObject)
        {
            throw new DatasetException($"{Where()} must be an object with a string \"label\"");
        }
        Utf8JsonWriter? w = null;
        if (json is not null)
        {
            _json ??= new ArrayBufferWriter<byte>();
            _json.ResetWrittenCount();
            w = new Utf8JsonWriter(_json);
            w.WriteStartObject();
        }
        string? label = null;
        Span<double> values = stackalloc double[5];
        var numbers = 0; // bit k: key k was a number
        var seen = 0;
        while (_tokens.Next() && _tokens.TokenType == JsonTokenType.PropertyName)
        {
            var key = KeyOf(_tokens.Value);
            w?.WritePropertyName(_tokens.Value);
            _tokens.Next();
            if (key >= 0)
            {
                if ((seen & (1 << key)) != 0)
                {
                    throw LabelsHeader.Duplicate(_path, $"{Field()}[\"{s_keys[key]}\"]");
                }
                seen |= 1 << key;
                if (key == 0 && _tokens.TokenType == JsonTokenType.String)
                {
                    label = Encoding.UTF8.GetString(_tokens.Value);
                }
                else if (key > 0 && _tokens.TokenType == JsonTokenType.Number)
                {
                    values[key - 1] = double.TryParse(_tokens.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN;
                    numbers |= 1 << key;
                }
            }
            if (w is not null)
            {
                _tokens.CopyValue(w);
            }
            else
            {
                _tokens.SkipValue();
            }
        }
        if (w is not null)
        {
            w.WriteEndObject();
            w.Dispose();
            json!.Add(_json!.WrittenSpan.ToArray());
        }
        if (label is null)
        {
            throw new DatasetException($"{Where()} must be an object with a string \"label\"");
        }
        Span<int> pixels = stackalloc int[4];
        for (var k = 1; k <= 4; k++)
        {
            if ((numbers & (1 << k)) == 0)
            {
                throw new DatasetException($"{Where()}: \"{s_keys[k]}\" must be a number");
            }
            // Edge Impulse stores integers; other tools may have written fractions, rounded here (BoxRules: the rule
            // every importer checks against too).
            pixels[k - 1] = BoxRules.Pixel(values[k - 1]) ?? throw new DatasetException($"{Where()}: \"{s_keys[k]}\" is out of range");
        }
        double? score = (numbers & (1 << 5)) != 0 && double.IsFinite(values[4]) ? values[4] : null;
        var box = new LabeledBox(label, pixels[0], pixels[1], pixels[2], pixels[3]) { Score = score };
        return BoxRules.Problem(box.X, box.Y, box.Width, box.Height) is { } problem
            ? throw new DatasetException($"{Where()}: {problem}")
            : box;
    }

    /// <summary>A metadata object: Edge Impulse's values are text; numbers and booleans are read as their text, null as
    /// empty.</summary>
    private Dictionary<string, string> ReadMetadata(string field)
    {
        if (_tokens.TokenType != JsonTokenType.StartObject)
        {
            throw new DatasetException($"{_path}: {field} must be an object of key/value pairs");
        }
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        while (_tokens.Next() && _tokens.TokenType == JsonTokenType.PropertyName)
        {
            var key = Encoding.UTF8.GetString(_tokens.Value);
            _tokens.Next();
            var value = _tokens.TokenType switch
            {
                JsonTokenType.String or JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False => Encoding.UTF8.GetString(_tokens.Value),
                JsonTokenType.Null => "",
                _ => throw new DatasetException($"{_path}: {field}[\"{key}\"] must be a string (Edge Impulse metadata values are text)"),
            };
            if (!result.TryAdd(key, value))
            {
                throw LabelsHeader.Duplicate(_path, $"{field}[\"{key}\"]");
            }
        }
        return result;
    }

    public void Dispose()
    {
        _tokens.Dispose();
        _stream.Dispose();
    }
}
