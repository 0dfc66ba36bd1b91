/// Whether the kernel can do inline encryption in software when the hardware cannot.
public struct BlkCryptoFallback: Equatable, Sendable {
    /// nil: no kernel configuration found to tell.
    public var enabled: Bool?
    /// CONFIG_BLK_INLINE_ENCRYPTION, if known.
    public var blockLayerSupport: Bool?
    /// Where it was read, or what was tried.
    public var source: String

    public init(enabled: Bool?, blockLayerSupport: Bool?, source: String) {
        self.enabled = enabled
        self.blockLayerSupport = blockLayerSupport
        self.source = source
    }

    /// From kernel .config text: "CONFIG_X=y", "# CONFIG_X is not set", or absent
    /// (FALLBACK depends on BLK_INLINE_ENCRYPTION and is absent without it).
    /// `source` becomes the evidence: "CONFIG_…=y in <path>".
    public static func parse(config text: String, source path: String) -> BlkCryptoFallback {
        func value(_ option: String) -> Bool {
            text.split(separator: "\n").contains { $0 == "\(option)=y" }
        }
        let fallback = value("CONFIG_BLK_INLINE_ENCRYPTION_FALLBACK")
        let block = value("CONFIG_BLK_INLINE_ENCRYPTION")
        let evidence: String
        switch (fallback, block) {
        case (true, _): evidence = "CONFIG_BLK_INLINE_ENCRYPTION_FALLBACK=y in \(path)"
        case (false, false): evidence = "CONFIG_BLK_INLINE_ENCRYPTION is not set in \(path)"
        case (false, true): evidence = "CONFIG_BLK_INLINE_ENCRYPTION_FALLBACK not set in \(path)"
        }
        return BlkCryptoFallback(enabled: fallback, blockLayerSupport: block, source: evidence)
    }

    /// From the running kernel itself, when no config file is installed (a
    /// self-built kernel): blk-crypto's `num_prealloc_crypt_ctxs` parameter (mode
    /// 0444, so /sys/module/blk_crypto/parameters/ has it exactly when
    /// CONFIG_BLK_INLINE_ENCRYPTION=y) and the fallback's functions in
    /// /proc/kallsyms (its own parameters have mode 0 and never show in sysfs).
    /// nil when neither source could be read.
    public static func fromRunningKernel(blkCryptoParameter: Bool, kallsyms: String?, kallsymsPath: String) -> BlkCryptoFallback? {
        guard let kallsyms else {
            if blkCryptoParameter {
                return BlkCryptoFallback(enabled: nil, blockLayerSupport: true,
                                         source: "/sys/module/blk_crypto exists (CONFIG_BLK_INLINE_ENCRYPTION=y), \(kallsymsPath) unreadable")
            }
            return nil
        }
        // Lines are "<address> <type> <name>[\t[module]]"; built-in code has no module.
        let fallback = (kallsyms + "\n").contains(" blk_crypto_fallback_bio_prep\n")
        let block = blkCryptoParameter || fallback
        let evidence: String
        switch (fallback, block) {
        case (true, _): evidence = "\(kallsymsPath) has blk_crypto_fallback_bio_prep"
        case (false, true): evidence = "/sys/module/blk_crypto exists but \(kallsymsPath) has no blk_crypto_fallback_bio_prep"
        case (false, false): evidence = "no /sys/module/blk_crypto and no blk_crypto_fallback_* in \(kallsymsPath): CONFIG_BLK_INLINE_ENCRYPTION is off"
        }
        return BlkCryptoFallback(enabled: fallback, blockLayerSupport: block, source: evidence)
    }

    public var summary: String {
        switch (enabled, blockLayerSupport) {
        case (true?, _):
            return "blk-crypto-fallback: built in (\(source)): fscrypt's inlinecrypt works in software on any device, without hardware speed"
        case (false?, false?):
            return "blk-crypto-fallback: no (\(source)): this kernel has no inline encryption at all"
        case (false?, _):
            return "blk-crypto-fallback: no (\(source)): inlinecrypt works only on devices with hardware"
        case (nil, _):
            return "blk-crypto-fallback: unknown (\(source))"
        }
    }
}
