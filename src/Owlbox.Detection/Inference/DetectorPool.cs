using Owlbox.Models;

namespace Owlbox.Detection.Inference;

/// <summary>
/// Holds the process's one ONNX Runtime session (sessions are large: one per process, per GPU). A job that names
/// another model swaps it; jobs for one model in a row reuse it.
/// </summary>
public sealed class DetectorPool(ModelCatalog catalog, DetectorOptions options) : IDisposable
{
    private readonly Lock _lock = new();
    private (string Model, string Variant, OwlDetector Detector)? _current;

    public OwlDetector Get(string model, string variant)
    {
        lock (_lock)
        {
            if (_current is { } c && c.Model == model && c.Variant == variant)
            {
                return c.Detector;
            }
            _current?.Detector.Dispose();
            _current = null;
            // The catalog's model and tokenizer: read once per process, shared with the gateway's checks.
            var detector = new OwlDetector(catalog.Load(model, variant), options, catalog.Tokenizer(model, variant));
            _current = (model, variant, detector);
            return detector;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _current?.Detector.Dispose();
            _current = null;
        }
    }
}
