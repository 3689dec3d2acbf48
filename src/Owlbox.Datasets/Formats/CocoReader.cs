using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Formats;

/// <summary>
/// Reads a COCO file streamed, in two passes over it, so its memory is the result (the boxes read, an entry per image
/// and category), never the file's text or a tree of it: 10^6 annotations are a few hundred bytes each as
/// <c>JsonNode</c>s and about a hundred as boxes. The first pass checks the whole file is JSON (no key twice in an
/// object, as <c>JsonDocument</c> with <c>AllowDuplicateProperties = false</c> did) and reads <c>categories</c> and
/// <c>images</c>, which may come in any order, before or after <c>annotations</c>; the second reads the annotations
/// against them. The messages and the order they are given in are the ones the whole-document reader gave: invalid
/// JSON first, then the root, categories, images and annotations' structure, then each annotation's problems.
/// </summary>
internal sealed class CocoReader
{
    private readonly string _source;
    private readonly Dictionary<long, (string Name, int Index)> _categories = [];
    private readonly List<string> _categoryNames = []; // by the position an annotation keeps
    private readonly Dictionary<long, Image> _images = [];
    private readonly List<string> _problems = [];
    private string? _rootError, _categoriesError, _imagesError, _annotationsError;
    private readonly AnnotationStore _read;

    private CocoReader(string source) => (_source, _read) = (source, new AnnotationStore($"{source}: annotations", _categoryNames));

    /// <param name="ordinal">Its place among the images read (0, 1, ...): what an annotation keeps of it.</param>
    private sealed class Image(string fileName, int width, int height, int index, int ordinal)
    {
        public string FileName { get; } = fileName;
        public int Width { get; } = width;
        public int Height { get; } = height;
        public int Index { get; } = index;
        public int Ordinal { get; } = ordinal;
        public int Refused { get; set; }
    }

    /// <param name="stream">The file's bytes, seekable (read twice); not disposed.</param>
    /// <param name="source">The file as the user named it: every message starts with it.</param>
    public static ImportResult Read(Stream stream, string source)
    {
        if (Blank(stream))
        {
            throw new DatasetException($"{source} is empty; a COCO file is a JSON object with images, categories and annotations");
        }
        var reader = new CocoReader(source);
        reader.Pass(stream, annotations: false);
        if ((reader._rootError ?? reader._categoriesError ?? reader._imagesError ?? reader._annotationsError) is { } error)
        {
            throw new DatasetException($"{source}: {error}");
        }
        reader.Pass(stream, annotations: true);
        return reader.Result();
    }

    /// <summary>Whether the stream holds nothing but JSON whitespace (after a UTF-8 byte-order mark); rewound.</summary>
    private static bool Blank(Stream stream)
    {
        var buffer = new byte[4096];
        var first = true;
        try
        {
            for (int n; (n = stream.Read(buffer)) > 0; first = false)
            {
                var span = buffer.AsSpan(0, n);
                if (first && span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
                {
                    span = span[3..];
                }
                if (span.IndexOfAnyExcept((ReadOnlySpan<byte>)" \t\r\n"u8) >= 0)
                {
                    return false;
                }
            }
            return true;
        }
        finally
        {
            stream.Position = 0;
        }
    }

    private void Pass(Stream stream, bool annotations)
    {
        stream.Position = 0;
        try
        {
            using var tokens = new StrictJsonTokens(stream);
            tokens.Next();
            if (tokens.TokenType != JsonTokenType.StartObject)
            {
                _rootError = "expected a JSON object with images, categories and annotations";
                tokens.Skip();
            }
            else
            {
                while (true)
                {
                    tokens.Next();
                    if (tokens.TokenType == JsonTokenType.EndObject)
                    {
                        break;
                    }
                    var name = tokens.Text;
                    tokens.Next();
                    switch (name)
                    {
                        case "categories" when !annotations:
                            List(tokens, name, ref _categoriesError, ReadCategory);
                            break;
                        case "images" when !annotations:
                            List(tokens, name, ref _imagesError, ReadImage);
                            break;
                        case "annotations":
                            List(tokens, name, ref _annotationsError, annotations ? ReadAnnotation : null);
                            break;
                        default:
                            tokens.Skip();
                            break;
                    }
                }
            }
            if (tokens.Read())
            {
                throw new JsonException($"{tokens.TokenType} after the end of the file's value");
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) // InvalidOperation: an escaped lone surrogate in a string
        {
            throw new DatasetException($"{_source} is not valid JSON ({e.Message})", e);
        }
    }

    /// <summary>A top-level array (absent or null: empty), each entry handed to the entry reader (then the
    /// token after it is the next one to read) until the first structural error, after which the rest is only checked
    /// as JSON.</summary>
    private delegate string? Entry(StrictJsonTokens tokens, int index);

    private static void List(StrictJsonTokens tokens, string name, ref string? error, Entry? entry)
    {
        if (tokens.TokenType == JsonTokenType.Null)
        {
            return;
        }
        if (tokens.TokenType != JsonTokenType.StartArray)
        {
            error ??= $"{name}: expected an array";
            tokens.Skip();
            return;
        }
        for (var i = 0; ; i++)
        {
            tokens.Next();
            if (tokens.TokenType == JsonTokenType.EndArray)
            {
                return;
            }
            if (error is null && entry is not null)
            {
                error = entry(tokens, i);
            }
            else
            {
                tokens.Skip();
            }
        }
    }

    /// <summary>A scalar member of an entry, as the whole-document reader judged it.</summary>
    private readonly record struct Field(JsonTokenType Type, long? Integer, int? Int32, double? Number, string? Text)
    {
        public bool Present => Type != JsonTokenType.None;
    }

    private static Field Scalar(StrictJsonTokens tokens)
    {
        var type = tokens.TokenType;
        long? integer = null;
        int? int32 = null;
        double? number = null;
        string? text = null;
        if (type == JsonTokenType.Number)
        {
            var raw = tokens.Value;
            integer = Utf8Parser.TryParse(raw, out long n, out var used) && used == raw.Length ? n : null;
            int32 = Utf8Parser.TryParse(raw, out int m, out used) && used == raw.Length ? m : null;
            // JSON has no NaN or infinity: a number that reads as one is beyond double's range (1e400).
            number = double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : null;
        }
        else if (type == JsonTokenType.String)
        {
            text = tokens.Text;
        }
        tokens.Skip();
        return new Field(type, integer, int32, number, text);
    }

    /// <summary>Reads an object's members: <paramref name="member"/> is given each name and reads (or skips) its value.</summary>
    private static void Members(StrictJsonTokens tokens, Action<string> member)
    {
        while (true)
        {
            tokens.Next();
            if (tokens.TokenType == JsonTokenType.EndObject)
            {
                return;
            }
            var name = tokens.Text;
            tokens.Next();
            member(name);
        }
    }

    private string? ReadCategory(StrictJsonTokens tokens, int i)
    {
        var where = $"categories[{i}]";
        if (tokens.TokenType != JsonTokenType.StartObject)
        {
            tokens.Skip();
            return $"{where}: expected an object";
        }
        Field id = default, name = default;
        Members(tokens, key =>
        {
            switch (key)
            {
                case "id": id = Scalar(tokens); break;
                case "name": name = Scalar(tokens); break;
                default: tokens.Skip(); break;
            }
        });
        if (id.Integer is not { } n)
        {
            return $"{where}.id: expected an integer";
        }
        if (name.Text is not { } text)
        {
            return $"{where}.name: expected a string";
        }
        if (!_categories.TryAdd(n, (text, _categoryNames.Count)))
        {
            return $"{where}.id: {n.ToString(CultureInfo.InvariantCulture)} is categories[{_categories[n].Index}]'s id too";
        }
        _categoryNames.Add(text);
        return null;
    }

    private string? ReadImage(StrictJsonTokens tokens, int i)
    {
        var where = $"images[{i}]";
        if (tokens.TokenType != JsonTokenType.StartObject)
        {
            tokens.Skip();
            return $"{where}: expected an object";
        }
        Field id = default, file = default, width = default, height = default;
        Members(tokens, key =>
        {
            switch (key)
            {
                case "id": id = Scalar(tokens); break;
                case "file_name": file = Scalar(tokens); break;
                case "width": width = Scalar(tokens); break;
                case "height": height = Scalar(tokens); break;
                default: tokens.Skip(); break;
            }
        });
        if (id.Integer is not { } n)
        {
            return $"{where}.id: expected an integer";
        }
        if (file.Text is not { } name)
        {
            return $"{where}.file_name: expected a string";
        }
        // Absent or null: the file states no size.
        static int? Size(Field f) => !f.Present || f.Type == JsonTokenType.Null ? 0 : f.Int32 is > 0 and var v ? v : null;
        if (Size(width) is not { } w)
        {
            return $"{where}.width: expected a positive integer";
        }
        if (Size(height) is not { } h)
        {
            return $"{where}.height: expected a positive integer";
        }
        return _images.TryAdd(n, new Image(name, w, h, i, _images.Count)) ? null
            : $"{where}.id: {n.ToString(CultureInfo.InvariantCulture)} is images[{_images[n].Index}]'s id too";
    }

    /// <summary>An annotation is one box: one that cannot be read is dropped, and listed (never a structural error).</summary>
    private string? ReadAnnotation(StrictJsonTokens tokens, int i)
    {
        var where = $"annotations[{i}]";
        if (tokens.TokenType != JsonTokenType.StartObject)
        {
            tokens.Skip();
            _problems.Add($"{_source}: {where}: expected an object; not imported");
            return null;
        }
        Field imageId = default, categoryId = default, score = default;
        var bbox = (Count: -1, Numbers: true, X: 0.0, Y: 0.0, W: 0.0, H: 0.0);
        Members(tokens, key =>
        {
            switch (key)
            {
                case "image_id": imageId = Scalar(tokens); break;
                case "category_id": categoryId = Scalar(tokens); break;
                case "score": score = Scalar(tokens); break;
                case "bbox": bbox = Bbox(tokens); break;
                default: tokens.Skip(); break;
            }
        });
        if (imageId.Integer is not { } imageKey)
        {
            _problems.Add($"{_source}: {where}.image_id: expected an integer; not imported");
            return null;
        }
        if (!_images.TryGetValue(imageKey, out var image))
        {
            _problems.Add($"{_source}: {where} names image {imageKey.ToString(CultureInfo.InvariantCulture)}, which the file does not list; not imported");
            return null;
        }
        void Refuse(string problem)
        {
            _problems.Add(problem);
            image.Refused++;
        }
        var onImage = $"{_source}: {where} (image {LabelRules.Escape(image.FileName)})";
        if (categoryId.Integer is not { } categoryKey)
        {
            Refuse($"{_source}: {where}.category_id: expected an integer; not imported");
            return null;
        }
        if (!_categories.TryGetValue(categoryKey, out var category))
        {
            Refuse($"{onImage} names category {categoryKey.ToString(CultureInfo.InvariantCulture)}, which the file does not list; not imported");
            return null;
        }
        if (bbox.Count != 4 || !bbox.Numbers)
        {
            Refuse($"{_source}: {where}.bbox: expected an array of 4 numbers [x, y, width, height]; not imported");
            return null;
        }
        if (BoxRules.Create(category.Name, bbox.X, bbox.Y, bbox.W, bbox.H, out var problem) is not { } box)
        {
            Refuse($"{onImage}: {problem}; not imported");
            return null;
        }
        // The score as COCO detection results carry it.
        _read.Add(image.Ordinal, category.Index, box, score.Number, i);
        return null;
    }

    /// <summary><c>bbox</c>: its length (-1 when not an array), whether every entry is a number, and the first four,
    /// a number beyond double's range (1e400) kept as the largest double so it is reported as out of range.</summary>
    private static (int Count, bool Numbers, double X, double Y, double W, double H) Bbox(StrictJsonTokens tokens)
    {
        if (tokens.TokenType != JsonTokenType.StartArray)
        {
            tokens.Skip();
            return (-1, false, 0, 0, 0, 0);
        }
        Span<double> v = stackalloc double[4];
        var (count, numbers) = (0, true);
        while (true)
        {
            tokens.Next();
            if (tokens.TokenType == JsonTokenType.EndArray)
            {
                return (count, numbers, v[0], v[1], v[2], v[3]);
            }
            var field = Scalar(tokens);
            numbers &= field.Type == JsonTokenType.Number;
            if (count < 4)
            {
                v[count] = field.Number ?? double.MaxValue;
            }
            count++;
        }
    }

    private ImportResult Result()
    {
        var boxes = _read.ByImage(_images.Count);
        var listed = _images.Values.OrderBy(m => m.Index)
            .Select(m => new ImportedImage(m.FileName, $"images[{m.Index.ToString(CultureInfo.InvariantCulture)}]", m.Width, m.Height, boxes[m.Ordinal], m.Refused));
        var result = Duplicates.Refuse(listed, _problems, $"{_source}: ")
            .Select(m => m with { Source = $"{_source}: {m.Source}" }).ToArray();
        return new ImportResult(result, _categories.OrderBy(c => c.Key).Select(c => c.Value.Name).ToArray(), _problems);
    }
}
