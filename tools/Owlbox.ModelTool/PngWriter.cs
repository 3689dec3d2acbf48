using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Owlbox.ModelTool;

/// <summary>Writes PNG variants an encoder library rarely produces on request: 8-bit grayscale, palette and 16-bit
/// RGB, so decoding of each can be tested.</summary>
public static class PngWriter
{
    /// <param name="rgb">Width × height × 3 bytes.</param>
    public static byte[] Grayscale(int width, int height, byte[] rgb) =>
        Build(width, height, 8, 0, null, (row, y) =>
        {
            for (var x = 0; x < width; x++)
            {
                var p = (y * width + x) * 3;
                row[x] = (byte)((rgb[p] * 299 + rgb[p + 1] * 587 + rgb[p + 2] * 114) / 1000);
            }
        }, width);

    public static byte[] Rgb16(int width, int height, byte[] rgb) =>
        Build(width, height, 16, 2, null, (row, y) =>
        {
            for (var i = 0; i < width * 3; i++)
            {
                var v = rgb[y * width * 3 + i];
                row[i * 2] = v;      // v * 257 as big-endian 16-bit: high byte v,
                row[i * 2 + 1] = v;  // low byte v
            }
        }, width * 6);

    public static byte[] Palette(int width, int height, byte[] rgb)
    {
        var colours = new List<int>();
        var index = new byte[width * height];
        for (var i = 0; i < width * height; i++)
        {
            var c = (rgb[i * 3] << 16) | (rgb[i * 3 + 1] << 8) | rgb[i * 3 + 2];
            var k = colours.IndexOf(c);
            if (k < 0)
            {
                if (colours.Count == 256)
                {
                    throw new ArgumentException("more than 256 colours");
                }
                colours.Add(c);
                k = colours.Count - 1;
            }
            index[i] = (byte)k;
        }
        var plte = colours.SelectMany(c => new[] { (byte)(c >> 16), (byte)(c >> 8), (byte)c }).ToArray();
        return Build(width, height, 8, 3, plte, (row, y) => index.AsSpan(y * width, width).CopyTo(row), width);
    }

    /// <summary>A valid 1x1 grayscale PNG whose header declares <paramref name="width"/> x <paramref name="height"/>:
    /// what a decompression bomb looks like to a decoder before it inflates anything.</summary>
    public static byte[] DeclaringSize(int width, int height)
    {
        var png = Grayscale(1, 1, [0, 0, 0]);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);   // IHDR data starts at 16
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17).ToArray())); // type + data
        return png;
    }

    private static byte[] Build(int width, int height, byte depth, byte colourType, byte[]? palette, Action<byte[], int> fillRow, int rowBytes)
    {
        using var output = new MemoryStream();
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = depth;
        header[9] = colourType;
        Chunk(output, "IHDR", header);
        if (palette is not null)
        {
            Chunk(output, "PLTE", palette);
        }
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
        {
            var row = new byte[rowBytes];
            for (var y = 0; y < height; y++)
            {
                z.WriteByte(0); // filter: none
                fillRow(row, y);
                z.Write(row);
            }
        }
        Chunk(output, "IDAT", raw.ToArray());
        Chunk(output, "IEND", []);
        return output.ToArray();
    }

    private static void Chunk(Stream output, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        output.Write(len);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(len, Crc32([.. typeBytes, .. data]));
        output.Write(len);
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }
        return ~crc;
    }
}
