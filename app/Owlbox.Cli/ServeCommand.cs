using Owlbox.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Owlbox.Gateway;
using Owlbox.Hosting;

namespace Owlbox.Cli;

/// <summary>
/// <c>owlbox serve --roles gateway,fetcher,detector,writer</c>: runs the named services in this process. Settings come
/// from <c>appsettings.json</c>, environment variables (<c>Owlbox__Transport=rabbitmq</c>, <c>Owlbox__RabbitMq__Host</c>,
/// <c>Owlbox__PostgresConnectionString</c>, <c>Owlbox__Models__&lt;id&gt;</c>, <c>Owlbox__Gateway__ApiKeys__0</c>) and
/// <c>--Owlbox:Key=value</c> arguments. Every role serves <c>/healthz</c> for probes.
/// </summary>
public static class ServeCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, CancellationToken cancellationToken)
    {
        var app = Build(args);
        var options = app.Services.GetRequiredService<OwlboxOptions>();
        await stdout.WriteLineAsync($"owlbox serving {string.Join(", ", options.Roles)} on the {options.Transport} bus").ConfigureAwait(false);
        await app.RunAsync(cancellationToken).ConfigureAwait(false);
        return OwlboxCli.Ok;
    }

    /// <summary>The process's web application, composed but not started (tests start it on a loopback port).</summary>
    public static WebApplication Build(string[] args)
    {
        var roles = OwlboxOptions.AllRoles.ToList();
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--roles" && i + 1 < args.Length)
            {
                roles = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            }
            else
            {
                rest.Add(args[i]);
            }
        }
        var unknown = roles.Except(OwlboxOptions.AllRoles, StringComparer.OrdinalIgnoreCase).ToArray();
        if (unknown.Length > 0 || roles.Count == 0)
        {
            throw new UsageException($"--roles takes a comma-separated list of {string.Join(", ", OwlboxOptions.AllRoles)}");
        }
        var builder = WebApplication.CreateBuilder(rest.ToArray());
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        });
        var options = builder.Configuration.GetSection(OwlboxOptions.SectionName).Get<OwlboxOptions>() ?? new OwlboxOptions();
        options.Roles = roles;
        var gateway = builder.Configuration.GetSection(GatewayOptions.SectionName).Get<GatewayOptions>() ?? new GatewayOptions();
        if (options.Validate().Concat(options.Has(Role.Gateway) ? gateway.Validate() : []).ToArray() is { Length: > 0 } problems)
        {
            throw new JobSetupException("the configuration would not run:" + string.Concat(problems.Select(p => $"{Environment.NewLine}  - {p}")));
        }
        builder.Services.AddOwlbox(options);
        builder.Services.AddOwlboxTelemetry("owlbox-" + string.Join('-', roles));
        // No endpoint takes more than a job's body; each also carries its own limit.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = gateway.MaxRequestBytes);
        if (options.Has(Role.Gateway))
        {
            builder.Services.AddOpenApi();
            builder.Services.AddGatewayAuthorization(gateway); // the API key on every endpoint not marked anonymous
        }
        var app = builder.Build();
        // Liveness: the process answers. Readiness: the broker and the job store answer too (no traffic until then).
        app.MapGet("/healthz", () => Results.Ok(new { status = "ok", roles })).AllowAnonymous();
        app.MapHealthChecks("/readyz", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") }).AllowAnonymous();
        if (options.Has(Role.Gateway))
        {
            app.MapOpenApi().AllowAnonymous(); // the API's description, as before: no data in it
            app.MapJobApi(gateway, options.StalledAfter);
        }
        return app;
    }
}
