import SwcryptBlkid
import SwcryptCore
import SwcryptDeviceMapper
import SwcryptSystem
import SwcryptKeys
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// One layer of a planned stack, bottom first.
public struct PlannedLayer: Sendable {
    public var name: String
    public var uuid: String
    public var table: Table
    /// dm-integrity layers are created small first so the kernel formats their
    /// superblock, then grown to the data size the kernel reports.
    var sizedByKernel: Bool
}

public struct MapPlan: Sendable {
    public var name: String
    public var stack: String
    public var layers: [PlannedLayer]
    /// Bytes of the dm-crypt key, when the top layer needs one.
    public var keySize: Int?
    var keyDescription: String?
    public var keySource: KeySource?
    public var readOnly: Bool
    /// Devices the tables name, for the print-out.
    var deviceNames: [String: String]
    /// Map even over a range that holds a signature libblkid knows (`--force`).
    public var force = false

    /// The tables as they will be loaded, key references only, with comments.
    public var printable: String {
        var out = [String]()
        for (m, p) in deviceNames.sorted(by: { $0.key < $1.key }) { out.append("# \(m) = \(p)") }
        for layer in layers {
            out.append("# \(layer.name) (uuid \(layer.uuid))")
            if layer.sizedByKernel {
                out.append("# length shown is the device's; dm-integrity sets the exact number of data sectors when it formats its superblock")
            }
            // Plans are checked when made (`checked`), so rendering cannot fail here.
            out.append((try? layer.table.render(masked: true)) ?? "# (a word of this table is not renderable)")
        }
        return out.joined(separator: "\n")
    }

    /// Every table renders: no word of any layer holds white space, a backslash or
    /// another character that would change how the kernel splits the table. Called
    /// on every plan before anything is touched.
    func checked() throws(SwcryptError) -> MapPlan {
        for layer in layers {
            do {
                _ = try layer.table.render(masked: true)
            } catch {
                throw SwcryptError(.failure, device: name, "refused: \(error.message)")
            }
        }
        return self
    }
}
