namespace Owlbox.Detection.Imaging;

/// <summary>The colour OWLv2's preprocessing pads an image to a square with. Current transformers pads black;
/// transformers 4.45.2, which the original Edge Impulse block ran, padded grey (0.5 after rescaling), so the block
/// pads grey to give the boxes that block gave.</summary>
public enum Owlv2Padding
{
    Black,
    Grey,
}
