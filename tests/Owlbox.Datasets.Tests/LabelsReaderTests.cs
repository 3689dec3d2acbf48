using System.Text;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Tests;

/// <summary>The one streaming reader of the labels file: entries one at a time, checked as read, never the whole file
/// in memory.</summary>
public sealed class LabelsReaderTests
{
    private const string Path = "/data/bounding_boxes.labels";
    private const string Head = """{"version": 1, "type": "bounding-box-labels", "boundingBoxes": """;

    private static LabelsEntry[] ReadAll(string json, Func<string, bool>? wanted = null, bool checkAll = true) =>
        ReadAll(new MemoryStream(Encoding.UTF8.GetBytes(json)), wanted, checkAll);

    private static LabelsEntry[] ReadAll(Stream stream, Func<string, bool>? wanted = null, bool checkAll = true)
    {
        using var reader = new LabelsReader(stream, Path, wanted, checkAll);
        var entries = new List<LabelsEntry>();
        while (reader.Read() is { } entry)
        {
            entries.Add(entry);
        }
        return [.. entries];
    }

    private static string Error(string json) => Assert.Throws<DatasetException>(() => ReadAll(json)).Message;

    [Fact]
    public void Entries_AreTheBoxesAndMetadata_AsTheFileHasThem()
    {
        var entries = ReadAll(Head + """
            {"a.jpg": [{"label": "cat", "x": 1, "y": 2.5, "width": 3, "height": 4, "score": 0.5, "attributes": {"k": [1]}}], "b.jpg": []},
            "metadata": {"a.jpg": {"site": "north", "n": 12, "ok": true, "none": null}}}
            """);

        Assert.Equal(["a.jpg", "b.jpg", "a.jpg"], entries.Select(e => e.SampleId));
        Assert.Equal([new LabeledBox("cat", 1, 3, 3, 4) { Score = 0.5 }], entries[0].Boxes!);
        Assert.Equal(0.5, entries[0].Boxes![0].Score);
        Assert.Empty(entries[1].Boxes!);
        Assert.Null(entries[2].Boxes);
        Assert.Equal(new Dictionary<string, string> { ["site"] = "north", ["n"] = "12", ["ok"] = "true", ["none"] = "" }, entries[2].Metadata);
    }

    [Fact]
    public void AByteOrderMark_IsSkipped()
    {
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes(Head + """{"a.jpg": []}}""")).ToArray();

        Assert.Equal("a.jpg", Assert.Single(ReadAll(new MemoryStream(bytes))).SampleId);
    }

    [Theory]
    [InlineData(Head + """{"a.jpg": [{"label": "cat", "x": 1""", "is not valid JSON")]
    [InlineData(Head + """{"a.jpg": []""", "is not valid JSON")]
    [InlineData(Head + "{}", "is not valid JSON")]
    [InlineData(Head + "{}} trailing", "is not valid JSON")]
    [InlineData("", "is not valid JSON")]
    public void ATruncatedFile_IsInvalidJson_NamingTheFile(string json, string reason)
    {
        var message = Error(json);

        Assert.StartsWith($"{Path} ", message, StringComparison.Ordinal);
        Assert.Contains(reason, message, StringComparison.Ordinal);
    }

    [Fact]
    public void ATruncatedFile_StillYieldsTheEntriesBeforeTheBreak_ThenStops()
    {
        using var reader = new LabelsReader(new MemoryStream(Encoding.UTF8.GetBytes(Head + """{"a.jpg": [], "b.jpg": [{"lab""")), Path);

        Assert.Equal("a.jpg", reader.Read()!.SampleId);
        Assert.Contains("is not valid JSON", Assert.Throws<DatasetException>(() => reader.Read()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnErrorFarIntoTheFile_NamesItsLine()
    {
        var lines = string.Concat(Enumerable.Range(0, 5000).Select(i => $"\n\"s{i}.jpg\": [],"));
        var message = Error(Head + "{" + lines + "\n\"bad.jpg\": [}}");

        Assert.Contains("LineNumber: 5001 |", message, StringComparison.Ordinal); // zero-based: the 5002nd line
    }

    [Theory]
    [InlineData("""{"version": 2, "type": "bounding-box-labels", "boundingBoxes": {}}""", $"{Path}: \"version\" must be 1")]
    [InlineData("""{"version": 1, "type": "bounding-box-label", "boundingBoxes": {}}""", $"{Path}: \"type\" must be \"bounding-box-labels\"")]
    [InlineData("""{"version": 1, "boundingBoxes": {"a.jpg": []}}""", $"{Path}: \"type\" must be \"bounding-box-labels\"")]
    public void AWrongVersionOrType_IsRefused(string json, string message) => Assert.Equal(message, Error(json));

    [Theory]
    [InlineData(Head + """{"a.jpg": [], "b.jpg": [], "a.jpg": []}}""", "boundingBoxes[\"a.jpg\"] appears twice")]
    [InlineData(Head + """{}, "metadata": {"a.jpg": {}, "a.jpg": {}}}""", "metadata[\"a.jpg\"] appears twice")]
    [InlineData(Head + """{}, "metadata": {"a.jpg": {"k": "1", "k": "2"}}}""", "metadata[\"a.jpg\"][\"k\"] appears twice")]
    [InlineData(Head + """{"a.jpg": [{"label": "cat", "x": 1, "x": 2, "y": 0, "width": 1, "height": 1}]}}""", "boundingBoxes[\"a.jpg\"][0][\"x\"] appears twice")]
    public void ADuplicatedSampleOrKey_IsRefused_NamingIt(string json, string field)
    {
        var message = Error(json);

        Assert.StartsWith($"{Path} is not valid JSON ({field}; remove one", message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASampleWithBoxesAndMetadata_IsNoDuplicate() =>
        Assert.Equal(2, ReadAll(Head + """{"a.jpg": []}, "metadata": {"a.jpg": {}}}""").Length);

    [Theory]
    [InlineData("""{"a.jpg": {}}""", "boundingBoxes[\"a.jpg\"] must be an array")]
    [InlineData("""{"a.jpg": [1]}""", "boundingBoxes[\"a.jpg\"][0] must be an object with a string \"label\"")]
    [InlineData("""{"a.jpg": [{"label": 5, "x": 0, "y": 0, "width": 1, "height": 1}]}""", "boundingBoxes[\"a.jpg\"][0] must be an object with a string \"label\"")]
    [InlineData("""{"a.jpg": [{"label": "c", "x": 0, "y": 0, "width": 1, "height": 1}, {"label": "c", "x": "0", "y": 0, "width": 1, "height": 1}]}""", "boundingBoxes[\"a.jpg\"][1]: \"x\" must be a number")]
    [InlineData("""{"a.jpg": [{"label": "c", "x": 0, "y": 0, "width": 1}]}""", "boundingBoxes[\"a.jpg\"][0]: \"height\" must be a number")]
    [InlineData("""{"a.jpg": [{"label": "c", "x": 1e400, "y": 0, "width": 1, "height": 1}]}""", "boundingBoxes[\"a.jpg\"][0]: \"x\" is out of range")]
    [InlineData("""{"a.jpg": [{"label": "c", "x": 0, "y": 0, "width": 0, "height": 1}]}""", "boundingBoxes[\"a.jpg\"][0]: width and height must be positive, got 0x1")]
    [InlineData("""{}, "metadata": {"a.jpg": []}""", "metadata[\"a.jpg\"] must be an object of key/value pairs")]
    [InlineData("""{}, "metadata": {"a.jpg": {"k": {"deep": 1}}}""", "metadata[\"a.jpg\"][\"k\"] must be a string (Edge Impulse metadata values are text)")]
    public void ABadEntry_IsRefused_NamingTheFileAndField(string body, string message) =>
        Assert.Equal($"{Path}: {message}", Error(Head + body + "}"));

    [Fact]
    public void AHugeStringField_IsReadWhole_ThroughTheBoundedBuffer()
    {
        var label = string.Concat(Enumerable.Repeat("é\"\\x", 400_000)); // 2 MB of JSON text, escapes: 30 times the buffer
        var text = System.Text.Json.JsonSerializer.Serialize(label);
        var json = "{\"version\": 1, \"type\": \"bounding-box-labels\", \"note\": " + text
            + ", \"boundingBoxes\": {\"a.jpg\": [{\"label\": " + text + ", \"x\": 0, \"y\": 0, \"width\": 1, \"height\": 1}]}}";

        var entry = Assert.Single(ReadAll(json));

        Assert.Equal(label, entry.Boxes![0].Label);
    }

    [Fact]
    public void EntriesNotWanted_AreNotReturned_ButStillChecked()
    {
        const string Body = """{"a.jpg": [], "b.jpg": [{"label": 5}]}}""";

        Assert.Contains("string \"label\"", Assert.Throws<DatasetException>(() => ReadAll(Head + Body, id => id == "a.jpg")).Message, StringComparison.Ordinal);
        Assert.Equal("a.jpg", Assert.Single(ReadAll(Head + Body, id => id == "a.jpg", checkAll: false)).SampleId); // a writer's read of one sample
    }

    [Fact]
    public void AFileOfManySamples_IsReadOneEntryAtATime_NotWhole()
    {
        const int Samples = 100_000;
        var stream = new CountingStream(ManySamples(Samples));

        using var reader = new LabelsReader(stream, Path);
        var first = reader.Read();

        Assert.Equal("s000000.jpg", first!.SampleId);
        Assert.InRange(stream.BytesRead, 1, 256 << 10); // the first entry came after a buffer or so, not the file
        Assert.True(stream.Length > 40 * stream.BytesRead, $"read {stream.BytesRead:N0} of {stream.Length:N0} bytes before the first entry");
        var count = 1;
        while (reader.Read() is { } entry)
        {
            Assert.Equal(2, entry.Boxes!.Count);
            count++;
        }
        Assert.Equal(Samples, count);
        Assert.Equal(stream.Length, stream.BytesRead);
    }

    /// <summary>A labels file of <c>n</c> samples of two boxes each.</summary>
    private static MemoryStream ManySamples(int n)
    {
        var text = new StringBuilder(Head + "{");
        for (var i = 0; i < n; i++)
        {
            text.Append(i > 0 ? "," : "").Append($"\n\"s{i:D6}.jpg\": [{{\"label\": \"cat\", \"x\": {i % 500}, \"y\": 7, \"width\": 40, \"height\": 30}}, ")
                .Append("{\"label\": \"dog\", \"x\": 3, \"y\": 4, \"width\": 50, \"height\": 60}]");
        }
        return new MemoryStream(Encoding.UTF8.GetBytes(text.Append("}}\n").ToString()));
    }

    /// <summary>Counts the bytes read through it.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            BytesRead += n;
            return n;
        }

        public override long Length => inner.Length;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
