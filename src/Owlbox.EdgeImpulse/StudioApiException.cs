using Owlbox.Datasets;

namespace Owlbox.EdgeImpulse;

/// <summary>Studio refused a call (<c>success: false</c>, or a 4xx): not worth retrying. The message never holds the API key.</summary>
public sealed class StudioApiException(string message, int? statusCode = null) : DatasetException(message)
{
    public int? StatusCode { get; } = statusCode;
}
