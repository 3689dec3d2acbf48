using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Owlbox.Integration.Tests;

/// <summary>One <c>owlbox serve --roles &lt;role&gt;</c> process, as a deployment runs it.</summary>
public sealed class OwlboxProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private OwlboxProcess(string role, int port, Process process)
    {
        (Role, Port, _process) = (role, port, process);
    }

    public string Role { get; }
    public int Port { get; }
    public bool HasExited => _process.HasExited;
    public int Pid => _process.Id;

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static string RepoRoot => Owlbox.ModelTool.RepoPaths.Root;

    /// <summary>The owlbox binary built beside these tests (same configuration).</summary>
    public static string OwlboxDll
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            return Path.Combine(RepoRoot, "app", "Owlbox.Cli", "bin", configuration, "net10.0", "owlbox.dll");
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task<OwlboxProcess> StartAsync(string role, IReadOnlyDictionary<string, string> environment, int? port = null)
    {
        var p = port ?? FreePort();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(OwlboxDll);
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add("--roles");
        info.ArgumentList.Add(role);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{p}");
        foreach (var (k, v) in environment)
        {
            info.Environment[k] = v;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start owlbox");
        var result = new OwlboxProcess(role, p, process);
        process.OutputDataReceived += (_, e) => result.Append(e.Data);
        process.ErrorDataReceived += (_, e) => result.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{p}"), Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{role} exited with {process.ExitCode}:\n{result.Log}");
            }
            try
            {
                if ((await http.GetAsync("/healthz")).IsSuccessStatusCode)
                {
                    return result;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(200);
        }
        result.Kill();
        throw new TimeoutException($"{role} did not become healthy:\n{result.Log}");
    }

    /// <summary>Like a pod killed by the node: no shutdown, no acknowledgements of what is in flight.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.WaitForExit(10_000);
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
