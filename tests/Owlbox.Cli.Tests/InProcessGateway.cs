using Microsoft.AspNetCore.Builder;

namespace Owlbox.Cli.Tests;

/// <summary>The gateway exactly as <c>owlbox serve</c> composes it (in-memory bus, SQLite job store in the workspace),
/// on Kestrel at a loopback port, with the bundled test model as <c>test</c> and the workspace as the only dataset root:
/// the gateway's HTTP tests need no broker.</summary>
internal static class InProcessGateway
{
    public static async Task<WebApplication> StartAsync(Workspace ws, string apiKey, params string[] settings)
    {
        var app = ServeCommand.Build([
            "--urls", "http://127.0.0.1:0",
            $"--Owlbox:Gateway:ApiKeys:0={apiKey}",
            $"--Owlbox:SqlitePath={Path.Combine(ws.Root, "jobs.db")}",
            $"--Owlbox:Models:test={Workspace.Owlv2Model}",
            $"--Owlbox:Datasets:LocalRoots:0={ws.Root}",
            .. settings,
        ]);
        await app.StartAsync();
        return app;
    }
}
