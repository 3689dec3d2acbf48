using System.Text;
using Owlbox.Datasets.Local;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Datasets.Tests;

/// <summary>Odd but valid labels files (escaped and NFD names, names holding JSON punctuation, nested extra keys,
/// sections in another order or empty, CRLF, tabs, long gaps, a byte-order mark): three spliced updates in a row keep
/// every other sample's labels and leave each sample listed once.</summary>
public sealed class LabelsSpliceOddFilesTests : IDisposable
{
    private readonly TempDataset _dataset = new();

    public void Dispose() => _dataset.Dispose();

    public static TheoryData<string, string> Files => new()
    {
        { "crlf no metadata", "{\r\n  \"version\" : 1 ,\r\n  \"type\" : \"bounding-box-labels\" ,\r\n  \"boundingBoxes\" : {\r\n    \"a.jpg\" : [ ] ,\r\n    \"z.jpg\" : [ { \"label\" : \"q\" , \"x\" : 1 , \"y\" : 1 , \"width\" : 1 , \"height\" : 1 } ]" + new string(' ', 300) + "\r\n  }\r\n}" },
        { "long gap", "{\"version\":1,\"type\":\"bounding-box-labels\",\"boundingBoxes\":{" + new string(' ', 300) + "\"a.jpg\":[]" + new string('\n', 300) + "},\"metadata\":{}}" },
        { "nfd", "{\"version\":1,\"type\":\"bounding-box-labels\",\"boundingBoxes\":{\"e\u0301.jpg\":[],\"\u00e9.jpg\":[],\"a.jpg\":[]},\"metadata\":{\"a.jpg\":{\"x\":1e2,\"y\":true,\"z\":null}}}" },
        { "metadata only entry", "{\"version\":1,\"type\":\"bounding-box-labels\",\"metadata\":{\"a.jpg\":{\"k\":\"v\"}},\"boundingBoxes\":{}}" },
        { "escaped", """{"version":1,"type":"bounding-box-labels","boundingBoxes":{"a\u002Ejpg":[{"label":"x","x":1,"y":1,"width":1,"height":1}],"b.jpg":[]},"metadata":{"a\u002ejpg":{"k":"v"}}}""" },
        { "nested extra", """{"version":1,"type":"bounding-box-labels","boundingBoxes":{"b\":[.jpg":[{"label":"}{\"","x":1e0,"y":1,"width":1,"height":1,"extra":{"q":"}]\"","r":[1,{"s":"{"}]}}],"a.jpg":[{"label":"old","x":1,"y":1,"width":1,"height":1}]},"metadata":{"a.jpg":{"k":"v"}},"zzz":{"boundingBoxes":{"a.jpg":[]}}}""" },
        { "metadata first", "{\r\n  \"metadata\": {},\r\n  \"boundingBoxes\": {\r\n    \"a.jpg\": []\r\n  },\r\n  \"type\": \"bounding-box-labels\",\r\n  \"version\": 1\r\n}\r\n  \r\n" },
        { "no metadata, extra after", """{"version":1,"type":"bounding-box-labels","boundingBoxes":{ },"extra":[1,2,{"metadata":{}}]}""" },
        { "empty sections spaced", "{\"version\":1,\"type\":\"bounding-box-labels\",\"boundingBoxes\":{\n\n},\"metadata\":{\n}\n}" },
        { "tabs", "{\n\t\"version\": 1,\n\t\"type\": \"bounding-box-labels\",\n\t\"boundingBoxes\": {\n\t\t\"c.jpg\": []\n\t},\n\t\"metadata\": {\n\t\t\"c.jpg\": {}\n\t}\n}" },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void ThreeUpdates_KeepEveryOtherLabel_AndListEachSampleOnce(string why, string text)
    {
        File.WriteAllBytes(_dataset.LabelsPath, [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(text)]);
        LabelsFile.Check(_dataset.LabelsPath);
        var old = LabelsFile.Load(_dataset.LabelsPath);
        var before = old.FileNames.ToDictionary(s => s, s => string.Join(";", old.GetBoxes(s)) + "|" + string.Join(";", old.GetMetadata(s) ?? new Dictionary<string, string>()));
        LabelsFile.Rewrite(_dataset.LabelsPath, [new("a.jpg", new SampleLabels([new LabeledBox("cat", 1, 1, 2, 2)], new Dictionary<string, string> { ["m"] = "v" }))]);
        LabelsFile.Rewrite(_dataset.LabelsPath, [new("n.jpg", new SampleLabels([new LabeledBox("dog", 1, 1, 2, 2)], new Dictionary<string, string> { ["m"] = "w" }))]);
        LabelsFile.Rewrite(_dataset.LabelsPath, [new("a.jpg", new SampleLabels([new LabeledBox("cow", 1, 1, 2, 2)], new Dictionary<string, string> { ["m"] = "u" }))]);
        var after = File.ReadAllText(_dataset.LabelsPath);
        var labels = LabelsFile.Load(_dataset.LabelsPath); // refuses a sample listed twice
        Assert.True(labels.GetBoxes("a.jpg").SequenceEqual([new LabeledBox("cow", 1, 1, 2, 2)]), $"{why}: {after}");
        Assert.True(labels.GetBoxes("n.jpg").SequenceEqual([new LabeledBox("dog", 1, 1, 2, 2)]), $"{why}: {after}");
        Assert.True("u" == labels.GetMetadata("a.jpg")!["m"], $"{why}: {after}");
        foreach (var (s, d) in before)
        {
            if (s != "a.jpg")
            {
                Assert.True(d == string.Join(";", labels.GetBoxes(s)) + "|" + string.Join(";", labels.GetMetadata(s) ?? new Dictionary<string, string>()), $"{why} {s}: {after}");
            }
        }
    }
}
