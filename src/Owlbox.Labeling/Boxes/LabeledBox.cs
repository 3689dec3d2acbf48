using System.Text.Json.Serialization;

namespace Owlbox.Labeling.Boxes;

/// <summary>A bounding box as Edge Impulse stores it: a label and integer pixels.</summary>
public sealed record LabeledBox(string Label, int X, int Y, int Width, int Height)
{
    public static LabeledBox From(string label, PixelBox box) => new(label, box.X, box.Y, box.Width, box.Height);

    [JsonIgnore]
    public PixelBox Box => new(X, Y, Width, Height);
}
