using System.CommandLine;
using Owlbox.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
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
    public static Command Create(CliContext io) => Define(io).Command;

    /// <summary>The process's web application, composed but not started (tests start it on a loopback port).</summary>
    public static WebApplication Build(string[] args)
    {
        var (command, build) = Define(new CliContext(TextWriter.Null, TextWriter.Null));
        var parsed = command.Parse(args);
        return parsed.Errors.Count > 0 ? throw new UsageException(parsed.Errors[0].Message) : build(parsed);
    }

    private static (Command Command, Func<ParseResult, WebApplication> Build) Define(CliContext io)
    {
        var roles = CliOptions.Text("--roles", $"comma-separated roles this process runs: {string.Join(", ", OwlboxOptions.AllRoles)}", "roles", string.Join(',', OwlboxOptions.AllRoles));
        var urls = CliOptions.Text("--urls", "where the web endpoints listen (ASP.NET Core's setting; for example http://0.0.0.0:8080)", "urls");
        var command = new Command("serve", "run the named services in this process. Settings come from appsettings.json, environment variables "
            + "(Owlbox__Transport=rabbitmq, Owlbox__RabbitMq__Host, ...) and --Owlbox:Key=value arguments")
        {
            roles, urls,
        };
        command.TreatUnmatchedTokensAsErrors = false; // --Owlbox:Key=value settings, read as configuration
        WebApplication Build(ParseResult parsed) => Compose(
            parsed.GetValue(roles)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            [.. parsed.GetValue(urls) is { } u ? ["--urls", u] : Array.Empty<string>(), .. parsed.UnmatchedTokens]);
        command.SetAction((parsed, cancellationToken) => RunAsync(Build(parsed), io.Out, cancellationToken));
        return (command, Build);
    }

    private static async Task<int> RunAsync(WebApplication app, TextWriter stdout, CancellationToken cancellationToken)
    {
        var options = app.Services.GetRequiredService<OwlboxOptions>();
        await stdout.WriteLineAsync($"owlbox serving {string.Join(", ", options.Roles)} on the {options.Transport} bus").ConfigureAwait(false);
        await app.RunAsync(cancellationToken).ConfigureAwait(false);
        return OwlboxCli.Ok;
    }

    /// <param name="settings">Configuration arguments (<c>--Owlbox:Key=value</c>, <c>--urls</c>).</param>
    private static WebApplication Compose(string[] roles, string[] settings)
    {
        var unknown = roles.Except(OwlboxOptions.AllRoles, StringComparer.OrdinalIgnoreCase).ToArray();
        if (unknown.Length > 0 || roles.Length == 0)
        {
            throw new UsageException($"--roles takes a comma-separated list of {string.Join(", ", OwlboxOptions.AllRoles)}");
        }
        var builder = WebApplication.CreateBuilder(settings);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        });
        var options = OwlboxSettings.Bind(builder.Configuration, OwlboxConcerns.All, o => o.Roles = [.. roles]);
        var gateway = builder.Configuration.GetSection(GatewayOptions.SectionName).Get<GatewayOptions>() ?? new GatewayOptions();
        if (options.Has(Role.Gateway) && gateway.Validate().ToArray() is { Length: > 0 } problems)
        {
            throw new OptionsValidationException(GatewayOptions.SectionName, typeof(GatewayOptions), problems);
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
