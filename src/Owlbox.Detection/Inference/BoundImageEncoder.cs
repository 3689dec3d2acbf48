using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Owlbox.Detection.Inference;

/// <summary>
/// The split image encoder run on up to <see cref="Capacity"/> images at a time, its input and outputs bound once
/// (IOBinding) to host buffers allocated once: page-locked by ONNX Runtime's CUDA pinned allocator on CUDA, so the
/// device copies straight from and to them with no staging copy and no allocation per run; pinned arrays on CPU.
/// A run of fewer images binds views of the same buffers (one binding per batch size, made on first use).
/// One run at a time per instance: <see cref="SplitImageEncoder"/> keeps one per concurrent run.
/// </summary>
internal sealed class BoundImageEncoder : IDisposable
{
    private const string PixelValues = "pixel_values";
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly OrtMemoryInfo _memory;
    private readonly OrtAllocator? _pinnedAllocator;
    private readonly HostBuffer _pixels;
    private readonly (string Name, HostBuffer Buffer, long[] PerImageShape)[] _outputs;
    private readonly Dictionary<int, (OrtIoBinding Binding, OrtValue[] Values)> _bindings = [];
    private readonly long _pixelsPerImage;
    private readonly int _imageSize;

    /// <param name="outputShapes">Each output's shape for one image, batch dimension first (from a warm run).</param>
    public BoundImageEncoder(InferenceSession session, int capacity, int imageSize, IReadOnlyList<(string Name, long[] Shape)> outputShapes, bool cudaPinned, int deviceId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _session = session;
        Capacity = capacity;
        (_imageSize, _pixelsPerImage) = (imageSize, 3L * imageSize * imageSize);
        if (cudaPinned)
        {
            _memory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA_PINNED, OrtAllocatorType.DeviceAllocator, deviceId, OrtMemType.CpuOutput);
            _pinnedAllocator = new OrtAllocator(session, _memory);
        }
        else
        {
            _memory = OrtMemoryInfo.DefaultInstance;
        }
        _pixels = new HostBuffer(capacity * _pixelsPerImage, _pinnedAllocator);
        _outputs = [.. outputShapes.Select(o => (o.Name, new HostBuffer(capacity * o.Shape.Skip(1).Aggregate(1L, (a, b) => a * b), _pinnedAllocator), o.Shape))];
    }

    public int Capacity { get; }

    /// <summary>How many outputs each run gives (those named at construction).</summary>
    public int Outputs => _outputs.Length;

    /// <summary>Where image <paramref name="index"/> of the next run goes: [3, S, S].</summary>
    public Span<float> Input(int index) => _pixels.Span(index * _pixelsPerImage, _pixelsPerImage);

    /// <summary>Runs the first <paramref name="images"/> inputs; the outputs are then read with <see cref="Output"/>.</summary>
    public void Run(int images)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(images, Capacity);
        ArgumentOutOfRangeException.ThrowIfLessThan(images, 1);
        var binding = Binding(images);
        binding.SynchronizeBoundInputs();
        _session.RunWithBinding(_runOptions, binding);
        binding.SynchronizeBoundOutputs();
    }

    /// <summary>Output <paramref name="output"/> (in the order given at construction) of image <paramref name="index"/> of the last run.</summary>
    public ReadOnlySpan<float> Output(int output, int index)
    {
        var perImage = PerImage(_outputs[output].PerImageShape);
        return _outputs[output].Buffer.Span(index * perImage, perImage);
    }

    private static long PerImage(long[] shape) => shape.Skip(1).Aggregate(1L, (a, b) => a * b);

    private OrtIoBinding Binding(int images)
    {
        if (_bindings.TryGetValue(images, out var bound))
        {
            return bound.Binding;
        }
        var binding = _session.CreateIoBinding();
        var values = new List<OrtValue>();
        OrtValue View(HostBuffer buffer, long[] shape)
        {
            var value = OrtValue.CreateTensorValueWithData(_memory, TensorElementType.Float, shape, buffer.Pointer, shape.Aggregate(1L, (a, b) => a * b) * sizeof(float));
            values.Add(value);
            return value;
        }
        binding.BindInput(PixelValues, View(_pixels, [images, 3, _imageSize, _imageSize]));
        foreach (var (name, buffer, shape) in _outputs)
        {
            binding.BindOutput(name, View(buffer, [images, .. shape.Skip(1)]));
        }
        _bindings[images] = (binding, [.. values]);
        return binding;
    }

    public void Dispose()
    {
        foreach (var (binding, values) in _bindings.Values)
        {
            binding.Dispose();
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
        _pixels.Dispose();
        foreach (var o in _outputs)
        {
            o.Buffer.Dispose();
        }
        _pinnedAllocator?.Dispose();
        _runOptions.Dispose();
    }

    /// <summary>Floats at a fixed address for the buffer's life: from the pinned allocator, or a pinned array.</summary>
    private sealed class HostBuffer : IDisposable
    {
        private readonly OrtMemoryAllocation? _native;
        private readonly float[]? _array;
        private readonly long _length;

        public HostBuffer(long floats, OrtAllocator? pinned)
        {
            _length = floats;
            if (pinned is not null)
            {
                _native = pinned.Allocate(checked((uint)(floats * sizeof(float))));
                Pointer = _native.DangerousGetHandle();
            }
            else
            {
                _array = GC.AllocateUninitializedArray<float>(checked((int)floats), pinned: true);
                Pointer = Marshal.UnsafeAddrOfPinnedArrayElement(_array, 0);
            }
        }

        public IntPtr Pointer { get; }

        public unsafe Span<float> Span(long offset, long length)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + length, _length);
            return new Span<float>((float*)Pointer + offset, checked((int)length));
        }

        public void Dispose() => _native?.Dispose();
    }
}
