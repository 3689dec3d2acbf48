using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Owlbox.LlmEmulator;

namespace Owlbox.Cli.Tests;

/// <summary>The LLM emulator (an OpenAI-compatible server that answers a crop's dominant colour) on a free loopback
/// port, with its call log.</summary>
public sealed class LlmEmulatorHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LlmEmulatorHost(string key, int port, EmulatorFaults faults)
    {
        Endpoint = $"http://127.0.0.1:{port}/v1";
        _app = LlmEmulatorApp.Build(key, [$"http://127.0.0.1:{port}"], faults, ReplyFlavor.OpenAi, Calls);
    }

    public string Endpoint { get; }
    public ConcurrentQueue<EmulatorCall> Calls { get; } = new();

    public static async Task<LlmEmulatorHost> StartAsync(string key, EmulatorFaults faults)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var host = new LlmEmulatorHost(key, port, faults);
        await host._app.StartAsync();
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
