namespace Owlbox.ModelTool;

/// <summary>The colour vocabulary of the generated test models: each class has an RGB prototype in [0,1]; classes
/// with a word can be searched for, the others (greys, black) are background.</summary>
public static class ColourClasses
{
    public sealed record ColourClass(string? Word, float R, float G, float B);

    public static readonly IReadOnlyList<ColourClass> All =
    [
        new("red", 0.90f, 0.10f, 0.10f),
        new("green", 0.10f, 0.75f, 0.15f),
        new("blue", 0.10f, 0.20f, 0.90f),
        new("yellow", 0.95f, 0.90f, 0.10f),
        new("cyan", 0.10f, 0.85f, 0.90f),
        new("magenta", 0.90f, 0.10f, 0.85f),
        new("orange", 1.00f, 0.55f, 0.00f),
        new("purple", 0.50f, 0.10f, 0.60f),
        new("white", 1.00f, 1.00f, 1.00f),
        new(null, 0.50f, 0.50f, 0.50f),
        new(null, 0.25f, 0.25f, 0.25f),
        new(null, 0.75f, 0.75f, 0.75f),
        new(null, 0.00f, 0.00f, 0.00f),
    ];

    /// <summary>Byte RGB of a searchable colour, for drawing test images.</summary>
    public static (byte R, byte G, byte B) Rgb(string word)
    {
        var c = All.First(c => c.Word == word);
        return ((byte)Math.Round(c.R * 255), (byte)Math.Round(c.G * 255), (byte)Math.Round(c.B * 255));
    }
}
