using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Owlbox.LlmEmulator;
using SkiaSharp;

namespace Owlbox.Verification.Tests;

/// <summary>The LLM emulator on a free loopback port, with its own faults and call log, and the client built as the
/// product builds it (short backoff so retries do not slow the tests; Retry-After still wins).</summary>
public sealed class LlmEmulatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LlmEmulatorServer(string key, int port, EmulatorFaults faults, ReplyFlavor flavor)
    {
        (ApiKey, Faults) = (key, faults);
        Endpoint = new Uri($"http://127.0.0.1:{port}/v1");
        _app = LlmEmulatorApp.Build(key, [$"http://127.0.0.1:{port}"], faults, flavor, Calls, Stats);
    }

    public string ApiKey { get; }
    public Uri Endpoint { get; }
    public EmulatorFaults Faults { get; }
    public ConcurrentQueue<EmulatorCall> Calls { get; } = new();
    public EmulatorStats Stats { get; } = new();

    public static async Task<LlmEmulatorServer> StartAsync(EmulatorFaults? faults = null, ReplyFlavor flavor = ReplyFlavor.OpenAi)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var server = new LlmEmulatorServer("sk-test-" + Guid.NewGuid().ToString("N"), port, faults ?? new EmulatorFaults(), flavor);
        await server._app.StartAsync();
        return server;
    }

    public LlmEndpoint Client(string? key = null, TimeSpan? perCall = null, int maxRetries = 3) => new()
    {
        Endpoint = Endpoint,
        Model = "gpt-4o-2024-08-06",
        ApiKey = key ?? ApiKey,
        PerCallTimeout = perCall ?? TimeSpan.FromSeconds(30),
        MaxRetries = maxRetries,
        BaseDelay = TimeSpan.FromMilliseconds(10),
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A 400x200 grey picture with a red, a green and a blue square, and boxes on them.</summary>
public static class Shapes
{
    public static readonly PixelBox Red = new(20, 20, 60, 60);
    public static readonly PixelBox Green = new(120, 20, 60, 60);
    public static readonly PixelBox Blue = new(220, 20, 60, 60);
    public static readonly PixelBox Empty = new(320, 120, 60, 60);

    public static byte[] Png() => Encode(SKEncodedImageFormat.Png);

    /// <summary>The same picture stored turned a quarter anticlockwise as a JPEG with EXIF orientation 6, so only a
    /// reader that applies the orientation sees it as <see cref="Png"/> shows it.</summary>
    public static byte[] RotatedJpeg()
    {
        using var upright = SKBitmap.Decode(Png());
        using var stored = new SKBitmap(new SKImageInfo(200, 400, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(stored))
        {
            canvas.Translate(100, 200);
            canvas.RotateDegrees(-90);
            canvas.Translate(-200, -100);
            canvas.DrawBitmap(upright, 0, 0);
        }
        using var data = stored.Encode(SKEncodedImageFormat.Jpeg, 95);
        return Owlbox.ModelTool.Exif.WithOrientation(data.ToArray(), 6);
    }

    private static byte[] Encode(SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(400, 200);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(128, 128, 128));
            using var paint = new SKPaint();
            foreach (var (box, colour) in new[] { (Red, SKColors.Red), (Green, new SKColor(0, 200, 0)), (Blue, SKColors.Blue) })
            {
                paint.Color = colour;
                canvas.DrawRect((float)box.X, (float)box.Y, (float)box.Width, (float)box.Height, paint);
            }
        }
        using var data = bitmap.Encode(format, 100);
        return data.ToArray();
    }
}
