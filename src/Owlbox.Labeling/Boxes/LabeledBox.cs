using System.Text.Json.Serialization;

namespace Owlbox.Labeling.Boxes;

/// <summary>A bounding box as Edge Impulse stores it: a label and integer pixels, and the detector's confidence when a
/// model made it (kept in a local labels file as <c>score</c>, for <c>owlbox eval</c> and the review page).</summary>
/// <remarks>A box's identity is its label and geometry, not its score: a result written twice, or read back from a
/// store that drops scores (Studio), is the same box and is never added again.</remarks>
public sealed record LabeledBox(string Label, int X, int Y, int Width, int Height)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Score { get; init; }

    public static LabeledBox From(string label, PixelBox box) => new(label, box.X, box.Y, box.Width, box.Height);

    [JsonIgnore]
    public PixelBox Box => new(X, Y, Width, Height);

    public bool Equals(LabeledBox? other) =>
        other is not null && Label == other.Label && X == other.X && Y == other.Y && Width == other.Width && Height == other.Height;

    public override int GetHashCode() => HashCode.Combine(Label, X, Y, Width, Height);
}
