namespace Owlbox.Models;

public enum OwlModelType
{
    /// <summary>OWL-ViT (v1): squash-resize, bicubic.</summary>
    OwlVit,

    /// <summary>OWLv2: pad bottom/right to a square with black, then resize.</summary>
    Owlv2,
}
