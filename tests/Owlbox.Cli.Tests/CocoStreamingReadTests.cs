using Owlbox.Datasets;
using Owlbox.Datasets.Formats;

namespace Owlbox.Cli.Tests;

/// <summary>The COCO reader streams the file in two passes (issue 27): the arrays in any order, and the whole file
/// still checked as JSON before any structural message, as the whole-document reader did.</summary>
public sealed class CocoStreamingReadTests
{
    [Fact]
    public void AnnotationsBeforeImagesAndCategories_AreReadAgainstThem()
    {
        var result = CocoFormat.Read("""
            {"annotations": [{"image_id": 2, "category_id": 7, "bbox": [1, 2, 3, 4], "score": 0.5},
                             {"image_id": 1, "category_id": 7, "bbox": [5, 6, 7, 8]}],
             "categories": [{"id": 7, "name": "cat"}],
             "images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg", "width": 10, "height": 20}]}
            """, "x.json");

        Assert.Empty(result.Problems);
        Assert.Equal(["cat"], result.Classes);
        Assert.Equal(["a.jpg", "b.jpg"], result.Images.Select(m => m.FileName));
        var b = Assert.Single(result.Images[1].Boxes);
        Assert.Equal(("cat", 1, 2, 3, 4, (double?)0.5), (b.Box.Label, b.Box.X, b.Box.Y, b.Box.Width, b.Box.Height, b.Box.Score));
        Assert.Equal("x.json: annotations[0]", b.Source);
        Assert.Equal((10, 20), (result.Images[1].Width, result.Images[1].Height));
    }

    [Theory]
    [InlineData("""{"images": [{"id": "1", "file_name": "a.jpg"}], "annotations": [{"bbox": {"x": 1, "x": 2}}]}""", "is not valid JSON (the key \"x\" appears twice")]
    [InlineData("""{"images": [{"id": "1", "file_name": "a.jpg"}], "annotations": [1, 2""", "is not valid JSON")]
    [InlineData("""{"images": 3, "categories": [{"id": 1}]}""", "x.json: categories[0].name: expected a string")]
    [InlineData("""{"annotations": {}, "images": [{"id": 1}]}""", "x.json: images[0].file_name: expected a string")]
    [InlineData("""{"annotations": {}}""", "x.json: annotations: expected an array")]
    [InlineData("""{} []""", "is not valid JSON")]
    [InlineData(" \n\t", "x.json is empty")]
    public void TheFirstProblem_IsTheOneTheWholeDocumentReaderGave(string json, string says)
    {
        var e = Assert.Throws<DatasetException>(() => CocoFormat.Read(json, "x.json"));
        Assert.Contains(says, e.Message, StringComparison.Ordinal);
    }

    /// <summary>Annotations interleaved over the images come back grouped by image, in the file's order within each, each
    /// with its category, score (only where the file gives one) and index; refused ones counted on their image.</summary>
    [Theory]
    [InlineData("1,2,1,3,1", "a.jpg: 0 2 4 | b.jpg: 1 | c.jpg: 3")]
    [InlineData("3,3,3", "a.jpg: | b.jpg: | c.jpg: 0 1 2")]
    [InlineData("2,x,1,2", "a.jpg: 2 | b.jpg: 0 3 (1 refused) | c.jpg:")]
    [InlineData("", "a.jpg: | b.jpg: | c.jpg:")]
    public void Annotations_AreGroupedByImageInTheFilesOrder(string imageOfEach, string expected)
    {
        // Annotation i: bbox [i, 0, 1, 1] on the image named; "x": image 2 with a bbox of three numbers (refused).
        var annotations = imageOfEach.Split(',', StringSplitOptions.RemoveEmptyEntries).Select((image, i) => image == "x"
            ? $$"""{"image_id": 2, "category_id": 8, "bbox": [1, 0, 1]}"""
            : $$"""{"image_id": {{image}}, "category_id": {{(i % 2 == 0 ? 7 : 8)}}, "bbox": [{{i}}, 0, 1, 1]{{(i == 0 ? ", \"score\": 0.75" : "")}}}""");
        var result = CocoFormat.Read($$"""
            {"images": [{"id": 3, "file_name": "c.jpg"}, {"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}],
             "annotations": [{{string.Join(",", annotations)}}],
             "categories": [{"id": 8, "name": "dog"}, {"id": 7, "name": "cat"}]}
            """, "x.json");

        string Image(ImportedImage m) => $"{m.FileName}:" + string.Concat(m.Boxes.Select(b => $" {b.Box.X}"))
            + (m.Refused > 0 ? $" ({m.Refused} refused)" : "");
        Assert.Equal(expected, string.Join(" | ", result.Images.OrderBy(m => m.FileName, StringComparer.Ordinal).Select(Image)));
        foreach (var b in result.Images.SelectMany(m => m.Boxes))
        {
            Assert.Equal($"x.json: annotations[{b.Box.X}]", b.Source);
            Assert.Equal(b.Box.X % 2 == 0 ? "cat" : "dog", b.Box.Label);
            Assert.Equal(b.Box.X == 0 ? 0.75 : null, b.Box.Score);
        }
        Assert.Equal(imageOfEach.Contains('x', StringComparison.Ordinal) ? 1 : 0, result.Problems.Count);
    }
}
