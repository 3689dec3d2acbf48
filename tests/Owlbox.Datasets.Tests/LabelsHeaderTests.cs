using System.Text;
using System.Text.Json;
using Owlbox.Datasets.Local;

namespace Owlbox.Datasets.Tests;

/// <summary>The labels file's top level, checked in one place: each row is a file's top level and what the check says
/// (null: accepted, with the sections it found).</summary>
public sealed class LabelsHeaderTests
{
    private const string Path = "/data/bounding_boxes.labels";

    public static TheoryData<string, string?> Headers => new()
    {
        { """{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {}}""", null },
        { """{"boundingBoxes": {}, "type": "bounding-box-labels", "version": 1}""", null }, // any order
        { """{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {}, "metadata": {}, "extra": [1, {"a": 2}]}""", null },
        { """[1]""", $"{Path} must be a JSON object" },
        { "\"text\"", $"{Path} must be a JSON object" },
        { """{"type": "bounding-box-labels", "boundingBoxes": {}}""", $"{Path}: \"version\" must be 1" },
        { """{"version": 2, "type": "bounding-box-labels", "boundingBoxes": {}}""", $"{Path}: \"version\" must be 1" },
        { """{"version": 1.0, "type": "bounding-box-labels", "boundingBoxes": {}}""", $"{Path}: \"version\" must be 1" },
        { """{"version": "1", "type": "bounding-box-labels", "boundingBoxes": {}}""", $"{Path}: \"version\" must be 1" },
        { """{"version": 1, "boundingBoxes": {}}""", $"{Path}: \"type\" must be \"bounding-box-labels\"" },
        { """{"version": 1, "type": "object-detection", "boundingBoxes": {}}""", $"{Path}: \"type\" must be \"bounding-box-labels\"" },
        { """{"version": 1, "type": ["bounding-box-labels"], "boundingBoxes": {}}""", $"{Path}: \"type\" must be \"bounding-box-labels\"" },
        { """{"version": 1, "type": "bounding-box-labels"}""", $"{Path}: \"boundingBoxes\" must be an object mapping image file names to box lists" },
        { """{"version": 1, "type": "bounding-box-labels", "boundingBoxes": []}""", $"{Path}: \"boundingBoxes\" must be an object mapping image file names to box lists" },
        { """{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {}, "metadata": []}""", $"{Path}: \"metadata\" must be an object mapping image file names to key/value objects" },
        { """{"version": 1, "version": 1, "type": "bounding-box-labels", "boundingBoxes": {}}""", $"{Path} is not valid JSON (\"version\" appears twice" },
        { """{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {}, "boundingBoxes": {}}""", $"{Path} is not valid JSON (\"boundingBoxes\" appears twice" },
        { """{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {}, "x": 1, "x": 2}""", $"{Path} is not valid JSON (\"x\" appears twice" },
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public void Header_IsCheckedInOnePlace(string json, string? error)
    {
        var e = Record.Exception(() => Check(json));

        if (error is null)
        {
            Assert.Null(e);
        }
        else
        {
            Assert.IsType<DatasetException>(e);
            Assert.StartsWith(error, e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("""{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {}}""", "BoundingBoxes", false)]
    [InlineData("""{"metadata": {}, "version": 1, "type": "bounding-box-labels", "boundingBoxes": {}}""", "Metadata BoundingBoxes", true)]
    public void Header_NamesTheSectionsItFinds(string json, string sections, bool hasMetadata)
    {
        var (found, header) = Check(json);

        Assert.Equal(sections, string.Join(' ', found));
        Assert.Equal(hasMetadata, header.HasMetadata);
    }

    /// <summary>Feeds the header each top-level property of <paramref name="json"/>, as the reader and writer do.</summary>
    private static (List<LabelsSection> Sections, LabelsHeader Header) Check(string json)
    {
        var header = new LabelsHeader(Path);
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        reader.Read();
        header.Root(reader.TokenType);
        var sections = new List<LabelsSection>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            var value = reader.TokenType == JsonTokenType.String ? Encoding.UTF8.GetBytes(reader.GetString()!) : reader.ValueSpan.ToArray();
            var section = header.Property(name, reader.TokenType, value);
            if (section != LabelsSection.Other)
            {
                sections.Add(section);
            }
            reader.Skip();
        }
        header.End();
        return (sections, header);
    }
}
