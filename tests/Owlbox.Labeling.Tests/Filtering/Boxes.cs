using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Labeling.Tests.Filtering;

/// <summary>Builders that keep the Arrange parts short.</summary>
internal static class Boxes
{
    public static PromptLine Line(string label, double min = 0, int number = 1) => new(number, label + " thing", label, min);

    public static DetectedBox Hit(string label, float score, int x, int y, int w, int h, double min = 0) =>
        new(Line(label, min), score, new PixelBox(x, y, w, h));
}
