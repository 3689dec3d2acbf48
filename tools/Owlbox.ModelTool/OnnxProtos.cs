using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Owlbox.ModelTool;

/// <summary>A dimension of a graph input or output: a fixed size or a named symbolic one.</summary>
public readonly record struct Dim(long Value, string? Param)
{
    public static implicit operator Dim(long value) => new(value, null);
    public static implicit operator Dim(string param) => new(0, param);

    public TensorShapeProto.Types.Dimension ToProto() => Param is null ? new() { DimValue = Value } : new() { DimParam = Param };
}

/// <summary>onnx.proto attributes, one line each.</summary>
public static class Attr
{
    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Str(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Tensor(string name, TensorProto value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
}

/// <summary>onnx.proto constant tensors with their values little-endian in raw_data.</summary>
public static class Tensors
{
    public static TensorProto Floats(string name, float[] values, params long[] dims) => Bytes(name, DataType.Float, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    public static TensorProto Int64s(string name, long[] values, params long[] dims) => Bytes(name, DataType.Int64, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    public static TensorProto Bytes(string name, DataType type, ReadOnlySpan<byte> values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(values) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    /// <summary>A graph input or output: its element type and shape.</summary>
    public static ValueInfoProto ValueInfo(string name, DataType type, IEnumerable<Dim> shape)
    {
        var tensorShape = new TensorShapeProto();
        tensorShape.Dim.AddRange(shape.Select(d => d.ToProto()));
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = tensorShape } } };
    }
}
