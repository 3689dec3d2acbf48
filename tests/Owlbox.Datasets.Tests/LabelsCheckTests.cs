using System.Text;
using Owlbox.Datasets.Local;

namespace Owlbox.Datasets.Tests;

/// <summary>The setup check's fast pass (<see cref="LabelsCheck"/> behind <see cref="LabelsFile.Check"/>) says exactly
/// what the one reader says: a file the reader refuses is refused with the reader's message, a file it takes is taken.</summary>
public sealed class LabelsCheckTests : IDisposable
{
    private const string Head = """{"version": 1, "type": "bounding-box-labels", "boundingBoxes": """;

    private readonly TempDataset _dataset = new();

    public void Dispose() => _dataset.Dispose();

    /// <summary>The reader's verdict on the file: null when it takes it, else its message.</summary>
    private string? ReaderSays()
    {
        try
        {
            _ = LabelsReader.ReadFile(_dataset.LabelsPath).Count();
            return null;
        }
        catch (DatasetException e)
        {
            return e.Message;
        }
    }

    private string? CheckSays()
    {
        try
        {
            LabelsFile.Check(_dataset.LabelsPath);
            return null;
        }
        catch (DatasetException e)
        {
            return e.Message;
        }
    }

    [Theory]
    [InlineData(Head + """{"a.jpg": [{"label": "cat", "x": 1, "y": 2.5, "width": 3, "height": 4e0, "score": "high", "attributes": {"k": [1, {"x": "label"}]}}]}, "metadata": {"a.jpg": {"s": "t", "n": 1.5, "b": true, "z": null}}}""", true)]
    [InlineData(Head + """{"caf\u00e9.jpg": [], "x\"y.jpg": []}, "extra": ["\u0041", {"boundingBoxes": 5}]}""", true)]
    [InlineData("""{"metadata": {}, "boundingBoxes": {}, "type": "bounding-box-labels", "version": 1}""", true)]
    [InlineData(Head + """{"a.jpg": [{"l\u0061bel": "cat", "x": 1, "y": 2, "width": 3, "height": 4}]}}""", true)]
    [InlineData(Head + """{"a.jpg": [{"label": "cat", "x": 1, "y": 2, "width": 3, "height": 4, "l\u0061bel": "dog"}]}}""", false)]
    [InlineData(Head + """{"a.jpg": [], "b.jpg": [], "a.jpg": []}}""", false)]
    [InlineData(Head + """{"a.jpg": [], "\u0061.jpg": []}}""", false)]
    [InlineData(Head + """{}, "metadata": {"a.jpg": {}, "a.jpg": {}}}""", false)]
    [InlineData(Head + """{"a.jpg": []}, "metadata": {"a.jpg": {}}}""", true)]
    [InlineData(Head + """{}, "metadata": {"a.jpg": {"k": "1", "k": "2"}}}""", false)]
    [InlineData(Head + """{"a.jpg": [{"label": "cat", "x": 1, "x": 2, "y": 0, "width": 1, "height": 1}]}}""", false)]
    [InlineData(Head + """{"a.jpg": [{"label": "cat", "score": 1, "score": 2, "x": 1, "y": 0, "width": 1, "height": 1}]}}""", false)]
    [InlineData(Head + """{"a.jpg": {}}}""", false)]
    [InlineData(Head + """{"a.jpg": [1]}}""", false)]
    [InlineData(Head + """{"a.jpg": [{"label": 5, "x": 0, "y": 0, "width": 1, "height": 1}]}}""", false)]
    [InlineData(Head + """{"a.jpg": [{"label": "c", "x": "0", "y": 0, "width": 1, "height": 1}]}}""", false)]
    [InlineData(Head + """{"a.jpg": [{"label": "c", "x": 0, "y": 0, "width": 1}]}}""", false)]
    [InlineData(Head + """{"a.jpg": [{"label": "c", "x": 1e400, "y": 0, "width": 1, "height": 1}]}}""", false)]
    [InlineData(Head + """{"a.jpg": [{"label": "c", "x": 0.4, "y": 0, "width": 1.5, "height": 1}]}}""", true)]
    [InlineData(Head + """{"a.jpg": [{"label": "c", "x": 0, "y": 0, "width": 0.4, "height": 1}]}}""", false)]
    [InlineData(Head + """{"a.jpg": [{"label": "c", "x": -3, "y": 0, "width": 1, "height": 1}]}}""", true)]
    [InlineData(Head + """{"a.jpg": [{"label": "c", "x": 2147483000, "y": 0, "width": 2000, "height": 1}]}}""", false)]
    [InlineData(Head + """{}, "metadata": {"a.jpg": []}}""", false)]
    [InlineData(Head + """{}, "metadata": {"a.jpg": {"k": {"deep": 1}}}}""", false)]
    [InlineData(Head + """{}, "metadata": []}""", false)]
    [InlineData(Head + """{}, "boundingBoxes": {}}""", false)]
    [InlineData(Head + "{}} trailing", false)]
    [InlineData(Head + "{}}   \n", true)]
    [InlineData(Head + """{"a.jpg": []""", false)]
    [InlineData("", false)]
    [InlineData("[1]", false)]
    [InlineData("""{"version": 1.0, "type": "bounding-box-labels", "boundingBoxes": {}}""", false)]
    [InlineData("""{"version": 1, "type": "bounding-box-label\u0073", "boundingBoxes": {}}""", true)]
    [InlineData("""{"version": 1, "boundingBoxes": {}}""", false)]
    [InlineData("""{"version": 1, "type": "bounding-box-labels"}""", false)]
    [InlineData("""{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {}, /* comment */ "metadata": {}}""", false)]
    [InlineData("""{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {"a.jpg": [],},}""", false)]
    public void TheCheck_SaysWhatTheReaderSays(string content, bool sound)
    {
        File.WriteAllText(_dataset.LabelsPath, content);

        var reader = ReaderSays();

        Assert.Equal(sound, reader is null);
        Assert.Equal(reader, CheckSays());
    }

    [Fact]
    public void MutatedFiles_AreJudgedAsTheReaderJudgesThem()
    {
        // Small edits of a sound file (a byte dropped, doubled or replaced): every verdict is the reader's.
        var sound = Encoding.UTF8.GetBytes("\uFEFF" + Head + """
            {"a.jpg": [{"label": "cat", "x": 1, "y": 2, "width": 3, "height": 4, "note": [1, {"k": null}]}, {"label": "d\u00f6g", "x": 10, "y": 20, "width": 30, "height": 40, "score": 0.5}],
             "b.jpg": []},
             "metadata": {"a.jpg": {"site": "north", "n": 12, "ok": false}}, "other": "x"}
            """);
        var random = new Random(27);
        var refused = 0;
        for (var i = 0; i < 600; i++)
        {
            var bytes = sound.ToList();
            var at = random.Next(bytes.Count);
            switch (random.Next(3))
            {
                case 0:
                    bytes.RemoveAt(at);
                    break;
                case 1:
                    bytes.Insert(at, bytes[at]);
                    break;
                default:
                    bytes[at] = (byte)"{}[]\",:0123456789-.e \\atx"[random.Next(25)];
                    break;
            }
            File.WriteAllBytes(_dataset.LabelsPath, [.. bytes]);

            var reader = ReaderSays();

            Assert.True(reader == CheckSays(), $"edit {i} at {at}: reader says {reader ?? "sound"}, the check {CheckSays() ?? "sound"}");
            refused += reader is null ? 0 : 1;
        }
        Assert.InRange(refused, 100, 590); // the edits broke files, and left some sound
    }
}
