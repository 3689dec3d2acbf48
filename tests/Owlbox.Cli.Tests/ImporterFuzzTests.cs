using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Owlbox.Datasets;
using Owlbox.Datasets.Formats;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Cli.Tests;

/// <summary>
/// The three importers under hostile input (issue 22). The committed corpus (<c>Fixtures/import-corpus/{coco,yolo,voc}</c>,
/// each case with its <c>.outcome</c>: the exit code the CLI gives, what the report says, exactly what is written) runs
/// as a theory; the fuzz test mutates the corpus's valid seeds — COCO as cocodataset.org/#format-data defines it and
/// pycocotools reads it, YOLO as Ultralytics documents it (docs.ultralytics.com/datasets/detect), VOC as the PASCAL VOC
/// devkit writes it — with byte flips, truncations, spliced and duplicated spans (duplicate keys and entries), huge and
/// non-finite numbers, wrong JSON types, deep nesting and DTDs, and asserts every reader either returns a result or
/// throws <see cref="DatasetException"/> in words, and that every box it would write is one the labels file reads back.
/// A seeded generator (not SharpFuzz: that needs an AFL-instrumented run) keeps every run the same;
/// <c>OWLBOX_FUZZ_ITERATIONS</c> runs more.
/// </summary>
public sealed class ImporterFuzzTests : IDisposable
{
    private static readonly string s_corpus = Path.Combine(Workspace.RepoRoot, "tests", "Owlbox.Cli.Tests", "Fixtures", "import-corpus");

    /// <summary>The dataset every corpus case and mutant is imported into: names and sizes as shown.</summary>
    private static readonly Dictionary<string, (int Width, int Height)> s_images = new(StringComparer.Ordinal)
    {
        ["wide-640x360.jpg"] = (640, 360),
        ["tall-360x640.png"] = (360, 640),
        ["labeled-600x400.jpg"] = (600, 400),
        ["pair.jpg"] = (100, 100),
        ["pair.png"] = (100, 100),
    };

    private readonly string _temp = Directory.CreateTempSubdirectory("owlbox-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var file in Directory.GetFiles(Path.Combine(s_corpus, "coco"), "*.json").Order(StringComparer.Ordinal))
        {
            data.Add("coco", Path.GetFileNameWithoutExtension(file));
        }
        foreach (var format in new[] { "yolo", "voc" })
        {
            foreach (var folder in Directory.GetDirectories(Path.Combine(s_corpus, format)).Order(StringComparer.Ordinal))
            {
                data.Add(format, Path.GetFileName(folder));
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CorpusCase_GivesItsExpectedOutcome(string format, string name)
    {
        var (input, expected) = format == "coco"
            ? (Path.Combine(s_corpus, "coco", name + ".json"), Path.Combine(s_corpus, "coco", name + ".outcome"))
            : (Path.Combine(s_corpus, format, name), Path.Combine(s_corpus, format, name, "expected.outcome"));
        var lines = File.ReadAllLines(expected).Where(l => !l.StartsWith('#') && l.Length > 0).Select(l => l.Split(": ", 2)).ToArray();

        var (exit, report, writes) = Import(() => format switch
        {
            "coco" => CocoFormat.ReadFile(input),
            "voc" => VocFormat.ReadFolder(input),
            _ => YoloFormat.ReadFolder(input, [.. s_images.Keys], id => s_images[id]),
        });

        Assert.True(int.Parse(lines.Single(l => l[0] == "exit")[1], CultureInfo.InvariantCulture) == exit, report);
        foreach (var says in lines.Where(l => l[0] == "says"))
        {
            Assert.True(report.Contains(says[1], StringComparison.Ordinal), $"'{says[1]}' not in:\n{report}");
        }
        Assert.Equal(lines.Where(l => l[0] == "writes").Select(l => l[1]), writes.Select(Describe).Order(StringComparer.Ordinal));
        Assert.DoesNotContain("Exception", report, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("coco")]
    [InlineData("yolo")]
    [InlineData("voc")]
    public void MutatedInputs_GiveAResultOrAClearError_AndOnlyBoxesTheLabelsFileReads(string format)
    {
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("OWLBOX_FUZZ_ITERATIONS"), CultureInfo.InvariantCulture, out var n) ? n : 1500;
        var seeds = Seeds(format);
        var random = new Random(22); // fixed: a failure reproduces; the iteration and input are in the message
        var outcomes = new int[3];
        var written = new List<LabelWrite>();
        for (var i = 0; i < iterations; i++)
        {
            var seed = seeds[random.Next(seeds.Count)];
            var files = seed.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);
            var target = files.Keys.ElementAt(random.Next(files.Count));
            files[target] = Mutator.Mutate(random, files[target], format == "coco" && target.EndsWith(".json", StringComparison.Ordinal));
            if (random.Next(8) == 0 && format != "coco")
            {
                files["copy-" + target] = files[target]; // the same image named by two files
            }

            (int Exit, string Report, IReadOnlyList<AnnotatedImage> Writes) result;
            try
            {
                result = Import(() => format switch
                {
                    "coco" => CocoFormat.Read(files.Values.Single(), "fuzz.json"),
                    "voc" => VocFormat.Read(files.Where(f => f.Key.EndsWith(".xml", StringComparison.Ordinal)).ToDictionary(StringComparer.Ordinal),
                        files.GetValueOrDefault(YoloFormat.ClassesFile)),
                    _ => YoloFormat.Read(files.Where(f => f.Key != YoloFormat.ClassesFile && f.Key.EndsWith(".txt", StringComparison.Ordinal))
                            .ToDictionary(f => Path.GetFileNameWithoutExtension(f.Key), f => f.Value, StringComparer.Ordinal),
                        files.GetValueOrDefault(YoloFormat.ClassesFile), [.. s_images.Keys], id => s_images[id], "fuzz"),
                });
            }
            catch (Exception e)
            {
                Assert.Fail($"iteration {i}: {e.GetType().Name}: {e.Message}\n{Show(files[target])}");
                throw;
            }
            Assert.False(result.Report.Contains("Exception", StringComparison.Ordinal) || result.Report.Contains("   at ", StringComparison.Ordinal),
                $"iteration {i}: .NET text in the report: {result.Report}\n{Show(files[target])}");
            foreach (var image in result.Writes)
            {
                var (w, h) = s_images[image.FileName];
                foreach (var b in image.Boxes)
                {
                    Assert.True(BoxRules.Problem(b.X, b.Y, b.Width, b.Height) is null && BoxRules.Outside(b, w, h) is null, $"iteration {i}: {b} would be written\n{Show(files[target])}");
                }
                written.Add(new LabelWrite($"{i}/{image.FileName}", new SampleLabels(image.Boxes, new Dictionary<string, string>())));
            }
            outcomes[result.Exit]++;
        }

        // Every box the importers would have written, through the real write path and back through the real reader.
        var labels = Path.Combine(_temp, LabelsFile.FileName);
        LabelsFile.Rewrite(labels, written);
        var read = LabelsFile.Load(labels);
        Assert.All(written, w => Assert.Equal(w.Labels.Boxes, read.GetBoxes(w.SampleId)));
        // The mutants reach every outcome: clean imports, imports with problems, and refusals (VOC refuses no whole
        // import: a file it cannot read is one image's problem).
        Assert.True(outcomes[0] > 0 && outcomes[2] > 0 && (outcomes[1] > 0) == (format != "voc"), $"clean {outcomes[0]}, with problems {outcomes[2]}, refused {outcomes[1]}");
    }

    /// <summary>What the CLI would do: exit 0, 2 with the problems, or 1 with the refusal; and the writes.</summary>
    private static (int Exit, string Report, IReadOnlyList<AnnotatedImage> Writes) Import(Func<ImportResult> read)
    {
        try
        {
            var (writes, problems) = ImportPlan.Build(read(), id => s_images.TryGetValue(id, out var size) ? size : null);
            return (problems.Count == 0 ? 0 : 2, string.Join("\n", problems), writes);
        }
        catch (DatasetException e)
        {
            return (1, e.Message, []);
        }
    }

    private static string Describe(AnnotatedImage m) =>
        string.Join(" ", [m.FileName, .. m.Boxes.Select(b => $"{b.Label}@{b.X},{b.Y},{b.Width},{b.Height}").Order(StringComparer.Ordinal)]);

    /// <summary>The corpus's valid cases, each as its files' text by name.</summary>
    private static List<Dictionary<string, string>> Seeds(string format) => format == "coco"
        ? [.. Directory.GetFiles(Path.Combine(s_corpus, "coco"), "valid-*.json").Select(f => new Dictionary<string, string> { ["seed.json"] = File.ReadAllText(f) })]
        : [.. Directory.GetDirectories(Path.Combine(s_corpus, format), "valid-*")
            .Select(d => Directory.GetFiles(d).Where(f => !f.EndsWith(".outcome", StringComparison.Ordinal))
                .ToDictionary(f => Path.GetFileName(f), File.ReadAllText, StringComparer.Ordinal))];

    private static string Show(string text) =>
        "input: " + (text.Length > 2000 ? text[..2000] + "..." : text).Replace("\0", "\\0", StringComparison.Ordinal);

    /// <summary>Mutations of a valid file, several per mutant.</summary>
    private static class Mutator
    {
        private static readonly string[] s_numbers =
        [
            "NaN", "-NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "2147483647", "2147483648", "-2147483648", "4294967296",
            "9223372036854775807", "9223372036854775808", "1e308", "3e9", "-1", "0", "-0", "0.4", "0.5", "1.5", "0.0000001", "1e30", "0x10", "1,5",
        ];

        private static readonly string[] s_tokens =
        [
            "null", "true", "[]", "{}", "\"\"", "\"x\"", ",", ":", "\"id\": 1, ", "\"images\": [], ", "\"bbox\": [1,2,3,4], ", "\"file_name\": \"wide-640x360.jpg\", ",
            "<!DOCTYPE a [<!ENTITY e \"x\">]>", "<!DOCTYPE a SYSTEM \"file:///etc/hostname\">", "&e;", "&lt;", "<![CDATA[1]]>", "<!-- -->",
            "<object><name>x</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>1e12</xmax><ymax>2</ymax></bndbox></object>",
            "<filename>wide-640x360.jpg</filename>", "\n", "\r\n", "\t", " ", "\0", "\uFEFF", "\uFFFD", "é", "٣", "\n0 0.5 0.5 0.1 0.1\n", "\n99 0.5 0.5 0.1 0.1\n",
        ];

        private static readonly char[] s_chars = ['{', '}', '[', ']', '"', ',', ':', '<', '>', '/', '&', '-', '.', 'e', '0', '9', ' ', '\n', '\0', 'x'];

        public static string Mutate(Random random, string text, bool json)
        {
            for (var k = random.Next(1, 4); k > 0; k--)
            {
                text = (json ? random.Next(10) : random.Next(8)) switch
                {
                    0 => Flip(random, text),
                    1 => text[..random.Next(text.Length + 1)],
                    2 => Delete(random, text),
                    3 => Duplicate(random, text),
                    4 => text.Insert(random.Next(text.Length + 1), s_tokens[random.Next(s_tokens.Length)]),
                    5 or 6 => ReplaceNumber(random, text),
                    7 => Nest(random, text, json),
                    _ => Structural(random, text),
                };
            }
            return text;
        }

        private static string Flip(Random random, string text) => text.Length == 0 ? text
            : new StringBuilder(text) { [random.Next(text.Length)] = s_chars[random.Next(s_chars.Length)] }.ToString();

        private static string Delete(Random random, string text)
        {
            if (text.Length == 0)
            {
                return text;
            }
            var start = random.Next(text.Length);
            return text.Remove(start, random.Next(Math.Min(40, text.Length - start) + 1));
        }

        private static string Duplicate(Random random, string text)
        {
            if (text.Length == 0)
            {
                return text;
            }
            var start = random.Next(text.Length);
            var span = text.Substring(start, random.Next(Math.Min(120, text.Length - start) + 1));
            return text.Insert(random.Next(text.Length + 1), span);
        }

        private static string ReplaceNumber(Random random, string text)
        {
            var numbers = Regex.Matches(text, @"-?\d+(\.\d+)?([eE][-+]?\d+)?");
            if (numbers.Count == 0)
            {
                return text;
            }
            var m = numbers[random.Next(numbers.Count)];
            return string.Concat(text.AsSpan(0, m.Index), s_numbers[random.Next(s_numbers.Length)], text.AsSpan(m.Index + m.Length));
        }

        private static string Nest(Random random, string text, bool json)
        {
            var depth = random.Next(2) == 0 ? 63 : 300; // just inside and far past the JSON parser's limit of 64
            var deep = json ? new string('[', depth) + new string(']', depth) : string.Concat(Enumerable.Repeat("<a>", depth)) + string.Concat(Enumerable.Repeat("</a>", depth));
            return text.Insert(random.Next(text.Length + 1), deep);
        }

        /// <summary>A COCO node swapped for a value of another type, removed, or an array entry doubled.</summary>
        private static string Structural(Random random, string text)
        {
            JsonNode? root;
            try
            {
                root = JsonNode.Parse(text, documentOptions: new System.Text.Json.JsonDocumentOptions { AllowDuplicateProperties = false });
            }
            catch (System.Text.Json.JsonException)
            {
                return text;
            }
            var nodes = new List<JsonNode>();
            void Walk(JsonNode? n)
            {
                if (n is null)
                {
                    return;
                }
                nodes.Add(n);
                foreach (var child in n switch { JsonObject o => o.Select(p => p.Value), JsonArray a => a, _ => [] })
                {
                    Walk(child);
                }
            }
            Walk(root);
            var node = nodes[random.Next(nodes.Count)];
            if (node.Parent is not { } parent)
            {
                return text;
            }
            JsonNode? replacement = random.Next(7) switch
            {
                0 => null,
                1 => JsonValue.Create("1"),
                2 => new JsonArray(),
                3 => new JsonObject(),
                4 => JsonValue.Create(random.Next(2) == 0 ? long.MaxValue : -1),
                5 => JsonValue.Create(1e300),
                _ => node.DeepClone(),
            };
            switch (parent)
            {
                case JsonArray array when random.Next(3) == 0:
                    array.Add(node.DeepClone()); // an entry twice: duplicate ids and file names
                    break;
                case JsonArray array:
                    array[array.IndexOf(node)] = replacement;
                    break;
                case JsonObject o when random.Next(3) == 0:
                    o.Remove(node.GetPropertyName());
                    break;
                case JsonObject o:
                    o[node.GetPropertyName()] = replacement;
                    break;
            }
            return root!.ToJsonString();
        }
    }
}
