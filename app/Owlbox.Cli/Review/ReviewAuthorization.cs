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
using Microsoft.Net.Http.Headers;

namespace Owlbox.Cli.Review;

/// <summary>
/// Who may use the review page's API: whoever holds the session token printed with its address. The token is a scheme
/// (<see cref="ReviewTokenHandler"/>) and a fallback policy requires it on every endpoint not marked anonymous, however
/// the path is spelt; every request that is not a read must also come from the page itself
/// (<see cref="SameOriginChangeRequirement"/>), so another web site open in the same browser can neither read the
/// dataset nor change it.
/// </summary>
public static class ReviewAuthorization
{
    public const string Scheme = "ReviewToken";
    public const string TokenHeader = "X-Owlbox-Token";

    /// <summary>The query parameter a GET may carry the token in: the page's <c>&lt;img src&gt;</c> cannot send headers.</summary>
    public const string TokenQuery = "t";

    public static IServiceCollection AddReviewAuthorization(this IServiceCollection services, string token)
    {
        services.AddAuthentication(Scheme).AddScheme<ReviewTokenOptions, ReviewTokenHandler>(Scheme, o => o.Token = token);
        services.AddSingleton<IAuthorizationHandler, SameOriginChangeHandler>();
        services.AddAuthorizationBuilder().SetFallbackPolicy(new AuthorizationPolicyBuilder(Scheme)
            .RequireAuthenticatedUser()
            .AddRequirements(new SameOriginChangeRequirement())
            .Build());
        return services;
    }

    /// <summary>Reads: GET and HEAD, which change nothing; everything else is a change.</summary>
    public static bool IsRead(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method);

    /// <summary>Why a change request may not be from this page, or null. Changes must be JSON (a cross-site form or
    /// <c>fetch</c> without a CORS preflight cannot send that content type, nor the token header), and a browser's
    /// <c>Origin</c> and <c>Sec-Fetch-Site</c>, when sent, must name this very page.</summary>
    public static string? CrossSiteProblem(string? contentType, string? origin, string? fetchSite, string host)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var type) || !type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return "a change must be sent as Content-Type: application/json";
        }
        if (!string.IsNullOrEmpty(origin) && !string.Equals(origin, "http://" + host, StringComparison.OrdinalIgnoreCase))
        {
            return $"a change must come from the review page itself, not from {LimitedText(origin)}";
        }
        if (!string.IsNullOrEmpty(fetchSite) && fetchSite is not ("same-origin" or "none"))
        {
            return $"a change must come from the review page itself (Sec-Fetch-Site: {LimitedText(fetchSite)})";
        }
        return null;
    }

    private static string LimitedText(string text) => text.Length <= 100 ? text : text[..100] + "…";
}

public sealed class ReviewTokenOptions : AuthenticationSchemeOptions
{
    public string Token { get; set; } = "";
}

/// <summary>The session token from the <c>X-Owlbox-Token</c> header, or for a read from the <c>t</c> query parameter
/// (never for a change: a link or form another site makes up could carry a query, not a header).</summary>
public sealed class ReviewTokenHandler(IOptionsMonitor<ReviewTokenOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<ReviewTokenOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var given = Request.Headers[ReviewAuthorization.TokenHeader] switch
        {
            [{ } header] => header,
            [] when ReviewAuthorization.IsRead(Request.Method) && Request.Query[ReviewAuthorization.TokenQuery] is [{ } query] => query,
            _ => null,
        };
        if (given is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(Options.Token)))
        {
            return Task.FromResult(AuthenticateResult.Fail("wrong session token"));
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "review-page")], Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        await Response.WriteAsJsonAsync(new { error = "open the address owlbox review printed (it carries the session token)" }).ConfigureAwait(false);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        var reason = Context.Items.TryGetValue(SameOriginChangeHandler.ProblemKey, out var problem) ? problem as string : null;
        await Response.WriteAsJsonAsync(new { error = reason ?? "refused" }).ConfigureAwait(false);
    }
}

/// <summary>A change (any method but GET and HEAD) comes from the review page itself; see
/// <see cref="ReviewAuthorization.CrossSiteProblem"/>.</summary>
public sealed class SameOriginChangeRequirement : IAuthorizationRequirement;

public sealed class SameOriginChangeHandler : AuthorizationHandler<SameOriginChangeRequirement>
{
    public const string ProblemKey = "owlbox.review.cross-site";

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, SameOriginChangeRequirement requirement)
    {
        if (context.Resource is not HttpContext http)
        {
            return Task.CompletedTask; // not an HTTP request: not satisfied
        }
        var request = http.Request;
        var problem = ReviewAuthorization.IsRead(request.Method)
            ? null
            : ReviewAuthorization.CrossSiteProblem(request.ContentType, request.Headers.Origin, request.Headers["Sec-Fetch-Site"], request.Host.Value ?? "");
        if (problem is null)
        {
            context.Succeed(requirement);
        }
        else
        {
            http.Items[ProblemKey] = problem;
            context.Fail(new AuthorizationFailureReason(this, problem));
        }
        return Task.CompletedTask;
    }
}
