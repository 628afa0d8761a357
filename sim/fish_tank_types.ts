/**
 * Types shared by the fish-tank model, the scenario timeline and the harness. Units are SI unless a name says
 * otherwise (°C for temperatures, mg/L for dissolved gases, lux for light, cm for water level).
 *
 * @module
 */

/** Every measurement the tank publishes, in publishing order. */
export const SENSOR_NAMES = [
  "temperature",
  "room_temperature",
  "ph",
  "oxygen",
  "light",
  "level",
] as const;
/** A measurement name, also the last level of its topic (`…/sensors/temperature`). */
export type SensorName = typeof SENSOR_NAMES[number];

/** Every actuator a controller may switch. `topup` is the optional refill valve. */
export const ACTUATOR_NAMES = ["heater", "light", "pump", "topup"] as const;
/** An actuator name, also the last level of its topic (`…/control/heater`). */
export type ActuatorName = typeof ACTUATOR_NAMES[number];

/** Units of each measurement, for displays and reports. */
export const SENSOR_UNITS: Readonly<Record<SensorName, string>> = {
  temperature: "°C",
  room_temperature: "°C",
  ph: "pH",
  oxygen: "mg/L",
  light: "lx",
  level: "cm",
};

/** What the controller asks for. The heater takes a power fraction 0–1 (on = 1); the rest are on/off. */
export interface FishTankInputs {
  /** Heater power as a fraction of full power, 0–1. */
  heater: number;
  /** Lamp on. */
  light: boolean;
  /** Air pump on. */
  pump: boolean;
  /** Top-up valve open (it closes itself at the float switch). */
  topup: boolean;
}

/** A sensor fault that a scenario switches on for a while. */
export type SensorFault =
  | { kind: "stuck" }
  | { kind: "noise"; factor: number }
  | { kind: "dropout" };

/** Everything outside the controller's hands at one instant: weather, faults and one-off events. */
export interface FishTankEnv {
  /** Air temperature around the tank, °C. */
  roomTemperature: number;
  /** Daylight reaching the tank from windows, lux (the lamp comes on top). */
  daylight: number;
  /** `failed`: no heat whatever the command; `stuck_on`: full heat whatever the command. */
  heater: "ok" | "failed" | "stuck_on";
  /** `failed`: the air pump does nothing whatever the command. */
  pump: "ok" | "failed";
  /** Mains power cut: every actuator is off (the heater too, even when stuck on). */
  powerCut: boolean;
  /** Lid off: more heat loss and more evaporation. */
  lidOpen: boolean;
  /** Food added during this step, grams (an impulse, usually 0). */
  feeding: number;
  /** Sensor faults in force now. */
  sensorFaults: Partial<Record<SensorName, SensorFault>>;
}

/** Initial conditions a scenario may set; anything missing takes the model's default. */
export interface FishTankInitial {
  /** Water temperature, °C. */
  temperature?: number;
  /** pH, 4–9.5. */
  ph?: number;
  /** Dissolved oxygen, mg/L. */
  oxygen?: number;
  /** Water level, cm. */
  level?: number;
}

/** One reading per sensor; `null` when the sensor has dropped out. */
export type FishTankReadings = Record<SensorName, number | null>;
