using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace Owlbox.ServiceDefaults;

/// <summary>
/// A body declared larger than its endpoint's limit (<see cref="IRequestSizeLimitMetadata"/>, else the server's) is
/// refused with 413 before the endpoint runs. The framework applies the limit only when a body is read; an endpoint
/// that never reads its body would otherwise act on such a request; one whose length is not declared is cut off at the
/// endpoint's limit when read (an endpoint that must not act on such a body reads it). Goes after authorization, so an unauthenticated
/// request is told 401 whatever it declares.
/// </summary>
public static class RequestBodyLimits
{
    public static IApplicationBuilder UseDeclaredBodyLimit(this IApplicationBuilder app, Func<HttpContext, string, Task>? refuse = null) =>
        app.Use(async (context, next) =>
        {
            var limit = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize
                ?? context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
            if (context.Request.ContentLength is { } length && limit is { } max && length > max)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                context.Response.Headers.Connection = "close"; // nor is the body drained to keep the connection
                var message = $"the request body is {length:N0} bytes; at most {max:N0}";
                await (refuse is null
                    ? Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: message).ExecuteAsync(context)
                    : refuse(context, message)).ConfigureAwait(false);
                return;
            }
            // A body of undeclared length (chunked) meets the same limit when it is read, whatever the server's is.
            if (limit is { } endpointLimit && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            {
                feature.MaxRequestBodySize = endpointLimit;
            }
            await next(context).ConfigureAwait(false);
        });
}
