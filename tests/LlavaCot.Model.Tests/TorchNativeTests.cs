using TorchSharp;

namespace LlavaCot.Model.Tests;

public class TorchNativeTests
{
    [Fact]
    public void Libtorch_loads_and_sees_huge_page_allocation_enabled()
    {
        Assert.Equal("1", TorchNative.GetNativeVariable("THP_MEM_ALLOC_ENABLE"));
        Assert.NotNull(TorchNative.GetNativeVariable("OMP_WAIT_POLICY"));
        using var a = torch.ones(3, 3);
        using var b = a.matmul(a);
        Assert.Equal(3f, b[0, 0].item<float>());
    }
}
