using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Owlbox.Bench;

/// <summary>
/// <c>owlbox-bench --coco-scale --owlbox &lt;owlbox.dll&gt; [--images 100000] [--annotations 1000000] [--work dir]</c>:
/// a dataset of tiny PNGs (an import decodes every image it writes, so they must exist; hard links of a few files
/// keep that fast) and a COCO file of that many annotations spread over them, then <c>owlbox import</c> and
/// <c>owlbox export --format coco</c> under <c>/usr/bin/time -v</c>: wall time and peak RSS, and peak RSS over the
/// COCO file's size (issue 27: an import below 3x); then the import into a folder with none of the images (the reader
/// alone).
/// </summary>
internal static class CocoScaleBench
{
    public static int Run(string[] args)
    {
        string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        var owlbox = Arg("--owlbox") ?? throw new ArgumentException("--owlbox <path to owlbox.dll> is required");
        var images = int.Parse(Arg("--images") ?? "100000", CultureInfo.InvariantCulture);
        var annotations = int.Parse(Arg("--annotations") ?? "1000000", CultureInfo.InvariantCulture);
        var work = Arg("--work") ?? Path.Combine(Path.GetTempPath(), "owlbox-coco-scale");
        var dataset = Path.Combine(work, "ds");
        var coco = Path.Combine(work, "coco.json");
        Generate(dataset, coco, images, annotations);
        File.Delete(Path.Combine(dataset, "bounding_boxes.labels"));
        var size = new FileInfo(coco).Length;
        Console.WriteLine($"COCO file: {images:N0} images, {annotations:N0} annotations, {size / 1e6:F1} MB");
        // The real case: a folder that has the images (sizes read from their headers, every box written).
        Measure("import", owlbox, ["import", coco, "--format", "coco", "--out", dataset], size);
        // The reader alone: a folder with none of the images (each listed as not in the dataset, nothing written).
        var bare = Path.Combine(work, "no-images");
        Directory.CreateDirectory(bare);
        File.Delete(Path.Combine(bare, "bounding_boxes.labels"));
        Measure("import into a folder without the images", owlbox, ["import", coco, "--format", "coco", "--out", bare], size);
        var exported = Path.Combine(work, "exported.json");
        File.Delete(exported);
        Measure("export", owlbox, ["export", dataset, "--format", "coco", "--out", exported], size);
        return 0;
    }

    private static void Measure(string name, string owlbox, string[] arguments, long fileSize)
    {
        var start = new ProcessStartInfo("/usr/bin/time", ["-v", "dotnet", owlbox, .. arguments]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        var rss = long.Parse(Regex.Match(stderr, @"Maximum resident set size \(kbytes\): (\d+)").Groups[1].Value, CultureInfo.InvariantCulture) * 1024;
        var wall = Regex.Match(stderr, @"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)").Groups[1].Value;
        Console.WriteLine($"{name}: exit {process.ExitCode}, {wall} wall, peak RSS {rss / 1e6:F0} MB = {(double)rss / fileSize:F2}x the COCO file; {stdout.Result.Split('\n')[0]}");
    }

    private static void Generate(string dataset, string coco, int images, int annotations)
    {
        Directory.CreateDirectory(dataset);
        var seeds = Path.Combine(Path.GetDirectoryName(coco)!, "seeds");
        Directory.CreateDirectory(seeds);
        var png = Png(64, 64);
        for (var i = 0; i < images; i++)
        {
            var path = Path.Combine(dataset, Name(i));
            if (!File.Exists(path))
            {
                var seed = Path.Combine(seeds, $"seed{i / 50_000}.png"); // a file has at most ~65,000 links
                if (!File.Exists(seed))
                {
                    File.WriteAllBytes(seed, png);
                }
                Link(seed, path);
            }
        }
        using var w = new StreamWriter(coco, false, new UTF8Encoding(false), 1 << 16);
        w.Write("{\"info\":{\"description\":\"owlbox-bench --coco-scale\"},\"images\":[");
        for (var i = 0; i < images; i++)
        {
            w.Write(string.Create(CultureInfo.InvariantCulture, $"{(i == 0 ? "" : ",")}{{\"id\":{i + 1},\"file_name\":\"{Name(i)}\",\"width\":64,\"height\":64}}"));
        }
        w.Write("],\"annotations\":[");
        var random = new Random(27);
        for (var a = 0; a < annotations; a++)
        {
            var (x, y, bw, bh) = (random.Next(41), random.Next(41), random.Next(1, 21), random.Next(1, 21));
            w.Write(string.Create(CultureInfo.InvariantCulture,
                $"{(a == 0 ? "" : ",")}{{\"id\":{a + 1},\"image_id\":{a % images + 1},\"category_id\":{a % 5 + 1},\"bbox\":[{x},{y},{bw},{bh}],\"area\":{bw * bh},\"iscrowd\":0}}"));
        }
        // Categories last, as the official COCO files have them: the reader must not need them first.
        w.Write("],\"categories\":[" + string.Join(",", Enumerable.Range(1, 5).Select(c => $"{{\"id\":{c},\"name\":\"class{c}\",\"supercategory\":\"\"}}")) + "]}");
    }

    private static string Name(int i) => string.Create(CultureInfo.InvariantCulture, $"img{i:D7}.png");

    private static void Link(string existing, string path)
    {
        if (link(existing, path) != 0)
        {
            File.Copy(existing, path); // no hard links here: a copy (the same bytes)
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int link(string oldpath, string newpath);

    /// <summary>A grey RGB PNG, written by hand (no image library needed for a fixture).</summary>
    private static byte[] Png(int width, int height)
    {
        var raw = new byte[height * (1 + width * 3)];
        for (var y = 0; y < height; y++)
        {
            raw.AsSpan(y * (1 + width * 3) + 1, width * 3).Fill(0x80);
        }
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Optimal, leaveOpen: true))
        {
            z.Write(raw);
        }
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // RGB
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", idat.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
        s.Write(four);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(four, Crc32.HashToUInt32(typed));
        s.Write(four);
    }
}
