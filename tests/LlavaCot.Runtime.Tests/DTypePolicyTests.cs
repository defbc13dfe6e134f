using static TorchSharp.torch;

namespace LlavaCot.Runtime.Tests;

public class DTypePolicyTests
{
    private const long Eleven = 10_670_000_000;
    private const long Gb = 1_000_000_000;

    private static HostFacts Host(bool bf16, long? availableGb) =>
        new(bf16 ? new HashSet<string> { "avx2", "avx512f", "avx512_bf16" } : new HashSet<string> { "avx2", "fma" }, availableGb * Gb);

    [Theory]
    [InlineData("float32", ScalarType.Float32)]
    [InlineData("fp32", ScalarType.Float32)]
    [InlineData("bfloat16", ScalarType.BFloat16)]
    [InlineData("BF16", ScalarType.BFloat16)]
    public void An_explicit_dtype_is_taken_as_given_where_the_cpu_computes_it(string setting, ScalarType expected)
    {
        var choice = DTypePolicy.Choose(setting, "auto", "bfloat16", Eleven, cuda: false, Host(true, 24));
        Assert.Equal(expected, choice.DType);
        Assert.Equal(expected, choice.MatrixDType);
        Assert.Contains("as configured", choice.Reason);
        Assert.Equal(expected, DTypePolicy.Choose(setting, "auto", "bfloat16", Eleven, cuda: true, Host(false, 24)).DType);
    }

    [Fact]
    public void Bf16_on_a_cpu_without_native_bf16_keeps_the_weights_in_bf16_and_computes_in_fp32()
    {
        foreach (var (support, host) in new[] { ("auto", Host(false, 24)), ("emulated", Host(true, 24)) })
        {
            var choice = DTypePolicy.Choose("bfloat16", support, "bfloat16", Eleven, cuda: false, host);
            Assert.Equal(ScalarType.Float32, choice.DType);
            Assert.Equal(ScalarType.BFloat16, choice.MatrixDType);
            Assert.Equal("bfloat16 weights, float32 compute", choice.Name);
            Assert.Contains("no native bf16", choice.Reason);
        }
        var forced = DTypePolicy.Choose("bfloat16", "native", "bfloat16", Eleven, cuda: false, Host(false, 24));
        Assert.Equal((ScalarType.BFloat16, "bfloat16"), (forced.DType, forced.Name));
    }

    [Theory]
    [InlineData("float32", ScalarType.Float32)]
    [InlineData("bfloat16", ScalarType.BFloat16)]
    [InlineData(null, ScalarType.Float32)]
    public void Auto_runs_a_small_model_in_its_checkpoints_dtype(string? checkpoint, ScalarType expected)
    {
        foreach (var host in new[] { Host(true, 24), Host(false, 24) })
        {
            var choice = DTypePolicy.Choose("auto", "auto", checkpoint, 272_459, cuda: false, host);
            Assert.Equal(expected, choice.DType);
            Assert.Contains("small model", choice.Reason);
        }
    }

    [Fact]
    public void Auto_takes_bf16_on_cuda_and_on_a_cpu_with_native_bf16()
    {
        Assert.Equal(ScalarType.BFloat16, DTypePolicy.Choose("auto", "auto", "bfloat16", Eleven, cuda: true, Host(false, 200)).DType);
        var native = DTypePolicy.Choose("auto", "auto", "bfloat16", Eleven, cuda: false, Host(true, 200));
        Assert.Equal(ScalarType.BFloat16, native.DType);
        Assert.Contains("natively", native.Reason);
    }

    [Fact]
    public void Without_native_bf16_auto_takes_fp32_when_it_fits_and_bf16_weights_computed_in_fp32_when_it_does_not()
    {
        // 1.5 B parameters: 6 GB of fp32 weights + a 2 GB reserve.
        var fits = DTypePolicy.Choose("auto", "auto", "bfloat16", 1_500_000_000, cuda: false, Host(false, 9));
        Assert.Equal(ScalarType.Float32, fits.DType);
        Assert.Contains("no native bf16", fits.Reason);
        Assert.Contains("fit in 9.0 GB", fits.Reason);
        Assert.Equal(ScalarType.Float32, fits.MatrixDType);
        var tight = DTypePolicy.Choose("auto", "auto", "bfloat16", 1_500_000_000, cuda: false, Host(false, 7));
        Assert.Equal((ScalarType.Float32, ScalarType.BFloat16), (tight.DType, tight.MatrixDType));
        // The 11B needs ~43 GB in fp32: on a 24 GB machine it keeps bf16 weights.
        var eleven = DTypePolicy.Choose("auto", "auto", "bfloat16", Eleven, cuda: false, Host(false, 23));
        Assert.Equal((ScalarType.Float32, ScalarType.BFloat16), (eleven.DType, eleven.MatrixDType));
        Assert.Contains("do not fit in 23.0 GB", eleven.Reason);
        Assert.Equal(ScalarType.BFloat16, DTypePolicy.Choose("auto", "auto", null, 1_500_000_000, cuda: false, Host(false, null)).MatrixDType);
    }

    [Fact]
    public void The_bf16_setting_forces_either_branch_on_any_machine()
    {
        var emulated = DTypePolicy.Choose("auto", "emulated", "bfloat16", 1_500_000_000, cuda: false, Host(true, 64));
        Assert.Equal(ScalarType.Float32, emulated.DType);
        Assert.Contains("Bf16Support=emulated", emulated.Reason);
        var native = DTypePolicy.Choose("auto", "native", "bfloat16", 1_500_000_000, cuda: false, Host(false, 64));
        Assert.Equal(ScalarType.BFloat16, native.DType);
        Assert.Throws<ArgumentException>(() => DTypePolicy.Choose("auto", "maybe", null, Eleven, false, Host(true, 64)));
        Assert.Throws<ArgumentException>(() => DTypePolicy.Choose("int4", "auto", null, Eleven, false, Host(true, 64)));
    }

    [Fact]
    public void Host_facts_read_cpu_flags_and_available_memory_in_either_whitespace_form()
    {
        var host = HostFacts.Parse("processor\t: 0\nflags\t\t: fpu avx avx2 fma avx512f avx512_bf16 amx_tile\nflags\t\t: other\n",
            "MemTotal:       24000000 kB\nMemAvailable:\t10123456 kB\n");
        Assert.True(host.NativeBf16);
        Assert.Equal("avx avx2 fma avx512f avx512_bf16 amx_tile", host.CpuFeatures);
        Assert.Equal(10123456L * 1024, host.AvailableMemoryBytes);
        Assert.False(HostFacts.Parse("flags : avx2 fma", "").NativeBf16);
        Assert.Null(HostFacts.Parse("", "").AvailableMemoryBytes);
        // /proc/self/status: a tab and 8 digits (no space after the colon), or spaces and fewer digits.
        Assert.Equal(10123456L * 1024, HostFacts.MeminfoBytes("VmPeak:\t1 kB\nVmHWM:\t10123456 kB\n", "VmHWM"));
        Assert.Equal(123456L * 1024, HostFacts.MeminfoBytes("VmHWM:     123456 kB\n", "VmHWM"));
        Assert.Null(HostFacts.MeminfoBytes("VmRSS: 5 kB", "VmHWM"));
        Assert.True(HostFacts.Read().CpuFlags.Count > 0);
    }
}
