using Owlbox.Labeling.Boxes;
using SkiaSharp;

namespace Owlbox.ModelTool;

/// <summary>Draws coloured rectangles on a plain background and encodes the result: the images the colour test
/// model detects. Boxes are given in model cells so they line up with the model's grid, which is what makes the
/// detected box exact for either model type.</summary>
public sealed class Scene(int width, int height, byte background = 128)
{
    private readonly List<(string Colour, PixelBox Box)> _objects = [];

    public int Width => width;
    public int Height => height;
    public IReadOnlyList<(string Colour, PixelBox Box)> Objects => _objects;

    /// <summary>Pixel box of a block of cells. Cells are W/g × H/g for OWL-ViT (squashed input) and
    /// max(W,H)/g square for OWLv2 (padded input).</summary>
    public PixelBox Cells(InputLayout layout, int col, int row, int cols, int rows, int grid = TestModels.Grid)
    {
        var cw = (layout == InputLayout.Stretch ? width : Math.Max(width, height)) / (double)grid;
        var ch = (layout == InputLayout.Stretch ? height : Math.Max(width, height)) / (double)grid;
        var x0 = (int)Math.Round(col * cw);
        var y0 = (int)Math.Round(row * ch);
        var x1 = (int)Math.Round((col + cols) * cw);
        var y1 = (int)Math.Round((row + rows) * ch);
        if (x1 > width || y1 > height)
        {
            throw new ArgumentException($"cells ({col},{row})+({cols},{rows}) fall outside the {width}x{height} image");
        }
        return new PixelBox(x0, y0, x1 - x0, y1 - y0);
    }

    public Scene Add(string colour, PixelBox box)
    {
        _objects.Add((colour, box));
        return this;
    }

    public SKBitmap Render()
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(new SKColor(background, background, background));
        using var paint = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
        foreach (var (colour, box) in _objects)
        {
            var (r, g, b) = ColourClasses.Rgb(colour);
            paint.Color = new SKColor(r, g, b);
            canvas.DrawRect(new SKRect(box.X, box.Y, box.Right, box.Bottom), paint);
        }
        return bitmap;
    }

    public byte[] Encode(SKEncodedImageFormat format = SKEncodedImageFormat.Png, int quality = 95)
    {
        using var bitmap = Render();
        return EncodeBitmap(bitmap, format, quality);
    }

    public static byte[] EncodeBitmap(SKBitmap bitmap, SKEncodedImageFormat format, int quality = 95)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        return data.ToArray();
    }
}
