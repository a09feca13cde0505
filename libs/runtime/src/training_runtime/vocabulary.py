"""The platform's shared vocabulary as plain Python (domain code uses these, never protobuf enums).

`training_runtime.protoconv` converts between these and the `training.common.v1` enums.
"""

from __future__ import annotations

from enum import StrEnum


class QualificationType(StrEnum):
    PRINCIPAL_HIGH_RISK = "principal_high_risk"
    SAFETY_MANAGER_HIGH_RISK = "safety_manager_high_risk"
    SPECIAL_OPERATION = "special_operation"
    PRINCIPAL_NON_HIGH_RISK = "principal_non_high_risk"
    SAFETY_MANAGER_NON_HIGH_RISK = "safety_manager_non_high_risk"


class TrainingKind(StrEnum):
    INITIAL = "initial"
    REFRESHER = "refresher"


# Special-operation types (特种作业目录), by code. The catalogue is data: extend it here and in
# docs/identity.md when the ministry's catalogue changes.
OPERATION_TYPES: dict[str, str] = {
    "electrical.low_voltage": "低压电工作业",
    "electrical.high_voltage": "高压电工作业",
    "electrical.power_cable": "电力电缆作业",
    "electrical.relay_protection": "继电保护作业",
    "electrical.electrical_testing": "电气试验作业",
    "electrical.explosion_proof": "防爆电气作业",
    "welding.fusion_and_cutting": "熔化焊接与热切割作业",
    "welding.pressure": "压力焊作业",
    "welding.brazing": "钎焊作业",
    "heights.scaffolding": "登高架设作业",
    "heights.installation_maintenance": "高处安装、维护、拆除作业",
    "refrigeration.operation": "制冷与空调设备运行操作作业",
    "refrigeration.installation_repair": "制冷与空调设备安装修理作业",
    "coal_mine.safety_inspection": "煤矿安全检查作业",
    "coal_mine.gas_inspection": "煤矿瓦斯检查作业",
    "coal_mine.blasting": "煤矿井下爆破作业",
    "metal_mine.ventilation": "金属非金属矿井通风作业",
    "metal_mine.hoisting": "金属非金属矿山提升机操作作业",
    "metal_mine.blasting": "金属非金属矿山爆破作业",
    "metal_mine.drainage": "金属非金属矿山排水作业",
    "oil_gas.drilling_well_control": "司钻作业",
    "metallurgy.gas": "煤气作业",
    "chemicals.chlorination": "氯化工艺作业",
    "chemicals.nitration": "硝化工艺作业",
    "chemicals.hydrogenation": "加氢工艺作业",
    "chemicals.oxidation": "氧化工艺作业",
    "chemicals.polymerization": "聚合工艺作业",
    "chemicals.ammonia_synthesis": "合成氨工艺作业",
    "chemicals.chlor_alkali_electrolysis": "氯碱电解工艺作业",
    "chemicals.automation_instrumentation": "化工自动化控制仪表作业",
    "fireworks.manufacturing": "烟花爆竹生产作业",
}
