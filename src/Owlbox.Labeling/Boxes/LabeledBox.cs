namespace Owlbox.Labeling.Boxes;

/// <summary>A bounding box as Edge Impulse stores it: a label and integer pixels.</summary>
public sealed record LabeledBox(string Label, int X, int Y, int Width, int Height)
{
    public LabeledBox(string label, PixelBox box)
        : this(label, box.X, box.Y, box.Width, box.Height)
    {
    }

    public PixelBox Box => new(X, Y, Width, Height);
}
