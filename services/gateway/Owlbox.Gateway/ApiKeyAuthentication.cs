using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Owlbox.Gateway;

/// <summary>The accepted <c>x-api-key</c> values (none: every caller is let in, <see cref="GatewayOptions.AllowAnonymous"/>).</summary>
public sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    public IReadOnlyList<string> Keys { get; set; } = [];
}

/// <summary>
/// The gateway's authentication: a caller is who its <c>x-api-key</c> header says, compared with every configured key
/// in constant time. Authorization's fallback policy (<see cref="ApiKeyAuthentication.AddGatewayAuthorization"/>)
/// requires it on every endpoint not marked anonymous, whatever the path or its spelling; the authorization middleware
/// runs before any endpoint reads the body, so an unauthenticated request costs a header check whatever it sends.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<ApiKeyAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<ApiKeyAuthenticationOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Options.Keys.Count == 0)
        {
            return Task.FromResult(Success("anonymous"));
        }
        if (Request.Headers[ApiKeyAuthentication.Header] is not [{ } value])
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        var given = Encoding.UTF8.GetBytes(value);
        var match = false;
        foreach (var key in Options.Keys)
        {
            match |= CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key), given); // every key, so timing tells nothing
        }
        return Task.FromResult(match ? Success("api-key") : AuthenticateResult.Fail("wrong x-api-key"));
    }

    private AuthenticateResult Success(string name) =>
        AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], Scheme.Name)), Scheme.Name));

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        // Close rather than drain whatever body came with the refused request.
        Response.Headers.Connection = "close";
        return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "missing or wrong x-api-key").ExecuteAsync(Context);
    }
}

public static class ApiKeyAuthentication
{
    public const string Scheme = "ApiKey";
    public const string Header = "x-api-key";

    /// <summary>The API key scheme, and a fallback policy requiring it on every endpoint that does not say
    /// <c>AllowAnonymous</c> (requests that match no endpoint included).</summary>
    public static IServiceCollection AddGatewayAuthorization(this IServiceCollection services, GatewayOptions options)
    {
        services.AddAuthentication(Scheme).AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(Scheme, o => o.Keys = [.. options.ApiKeys]);
        services.AddAuthorizationBuilder().SetFallbackPolicy(new AuthorizationPolicyBuilder(Scheme).RequireAuthenticatedUser().Build());
        return services;
    }
}
